#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.hpp"

namespace hush::auth {

struct throttle_policy {
  unsigned member_free_failures = 3;
  unsigned address_free_failures = 10;
  std::chrono::seconds base_delay{2};
  std::chrono::seconds max_delay{900};
};

// Failures counted where every server of a club sees them: the store that several instances
// share (PostgreSQL), so that a guesser spread over them is throttled as if there were one. Keys
// are the throttle's own (member and address, and address alone), counted on the store's clock,
// so that the servers' clocks need not agree. Every method blocks on the store: never call one on
// an I/O thread. The keys may hold what a member typed into the name field (a password, a
// token): an implementation must not keep them as they are (app::guess_ledger keeps a keyed hash).
class failure_ledger {
 public:
  struct seen {
    unsigned failures = 0;
    // failures(): since the last failure. add_failure(): since the failure before the one it
    // added (what the key's block was as that one came in).
    std::chrono::seconds quiet{0};
  };
  // The (member, address) key's count, then the address key's.
  using counts = std::array<seen, 2>;

  failure_ledger() = default;
  failure_ledger(const failure_ledger&) = delete;
  failure_ledger& operator=(const failure_ledger&) = delete;
  virtual ~failure_ledger() = default;

  virtual result<counts> failures(const std::string& member_key,
                                  const std::string& address_key) = 0;
  // Counts one more failure for each key in one step, starting afresh a key quiet for longer than
  // `afresh`, and returns the counts after it.
  virtual result<counts> add_failure(const std::string& member_key, const std::string& address_key,
                                     std::chrono::seconds afresh) = 0;
  // An attempt counted by add_failure proved right: forgets the member key's count, and takes
  // the one it added off the address key's.
  virtual result<void> forgive(const std::string& member_key, const std::string& address_key) = 0;
};

// Counts failed password checks per (member, client address) and per client address, and blocks
// a key for a delay that doubles with each failure past its free ones. There is deliberately no
// count per member alone: a stranger could then lock a member out from anywhere; here a member
// can always log in from an address that has not been guessing. Memory is bounded: past
// `max_entries` keys, the ones whose delay has run out are dropped first. Thread safe.
//
// An attempt is counted as a failure before its hash runs (count_attempt), and forgiven when the
// password proves right (record_success): attempts that arrive together cannot all pass a check
// that none of them has been counted in yet.
//
// With a failure_ledger, attempts are counted in it too, and the methods that may block consult
// it; a block the ledger reports is copied into memory, where `blocked` (which never blocks) sees
// it from then on. So a server learns of guesses made on the others at its next password check
// that reaches the store, and refuses every later one (a verified-credential cache hit included)
// without asking the store again.
class throttle {
 public:
  using clock = std::chrono::steady_clock;

  explicit throttle(throttle_policy policy, std::size_t max_entries = 100'000,
                    failure_ledger* ledger = nullptr);

  // How long the caller must wait before a password check for this member from this address may
  // run; nullopt if it may run now. Memory only: for the I/O threads.
  std::optional<std::chrono::seconds> blocked(std::string_view member, std::string_view address,
                                              clock::time_point now);
  // The same, with the ledger's counts (off the I/O threads); the ledger's error if it fails.
  result<std::optional<std::chrono::seconds>> blocked_everywhere(std::string_view member,
                                                                 std::string_view address,
                                                                 clock::time_point now);
  // Before a password check runs: counts it as a failure, in memory and then in the ledger, unless
  // the key was blocked as it came in; then it must not run, and the wait is returned (an attempt
  // refused by memory is not counted; one the ledger refuses, which raced others there, is). The
  // ledger's error if it fails (the count in memory stands).
  result<std::optional<std::chrono::seconds>> count_attempt(std::string_view member,
                                                            std::string_view address,
                                                            clock::time_point now);
  // The password of an attempt count_attempt let through was right: forgets the (member,
  // address) failures, and takes this attempt off the address's count; the address's other
  // failures stay, so an attacker with one valid account cannot wipe the count of the guesses it
  // makes against others.
  result<void> record_success(std::string_view member, std::string_view address);

 private:
  struct entry {
    unsigned failures = 0;
    clock::time_point last_failure{};
    clock::time_point blocked_until{};
  };
  using table = std::unordered_map<std::string, entry>;

  void fail(table& t, const std::string& key, unsigned free_failures, clock::time_point now);
  // Keeps the block the ledger's count of `key` makes, if it ends later than memory's.
  void adopt(table& t, const std::string& key, failure_ledger::seen seen, unsigned free_failures,
             clock::time_point now);
  // How long the key was still blocked for as an attempt came in, by the ledger's answer to it.
  std::optional<std::chrono::seconds> blocked_before(failure_ledger::seen added,
                                                     unsigned free_failures) const;
  std::chrono::seconds delay_after(unsigned failures, unsigned free_failures) const;
  void adopt_all(const std::string& member_key, const std::string& address_key,
                 const failure_ledger::counts& counts, clock::time_point now);
  std::optional<std::chrono::seconds> wait_for(const table& t, const std::string& key,
                                               clock::time_point now) const;
  void prune(table& t, clock::time_point now);

  throttle_policy policy_;
  std::size_t max_entries_;
  failure_ledger* ledger_;
  std::mutex mutex_;
  table members_;
  table addresses_;
};

// The part of an address that one client controls: an IPv4 address whole, an IPv6 address's /64
// (a single host is routinely given a whole /64).
std::string address_key(std::string_view address);

// The network an address belongs to, for caps that a client with many addresses cannot escape by
// switching between them: an IPv4 /24, an IPv6 /56 (what one site or customer is routinely given).
// Text that is not an address is its own network.
std::string network_key(std::string_view address);

}  // namespace hush::auth
