#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hush::auth {

struct throttle_policy {
  unsigned member_free_failures = 3;
  unsigned address_free_failures = 10;
  std::chrono::seconds base_delay{2};
  std::chrono::seconds max_delay{900};
};

// Counts failed password checks per (member, client address) and per client address, and blocks
// a key for a delay that doubles with each failure past its free ones. There is deliberately no
// count per member alone: a stranger could then lock a member out from anywhere; here a member
// can always log in from an address that has not been guessing. Memory is bounded: past
// `max_entries` keys, the ones whose delay has run out are dropped first. Thread safe.
class throttle {
 public:
  using clock = std::chrono::steady_clock;

  explicit throttle(throttle_policy policy, std::size_t max_entries = 100'000);

  // How long the caller must wait before a password check for this member from this address may
  // run; nullopt if it may run now.
  std::optional<std::chrono::seconds> blocked(std::string_view member, std::string_view address,
                                              clock::time_point now);
  void record_failure(std::string_view member, std::string_view address, clock::time_point now);
  // Forgets the (member, address) failures; the address's own count stays, so an attacker with
  // one valid account cannot wipe the count of the guesses it makes against others.
  void record_success(std::string_view member, std::string_view address);

 private:
  struct entry {
    unsigned failures = 0;
    clock::time_point last_failure{};
    clock::time_point blocked_until{};
  };
  using table = std::unordered_map<std::string, entry>;

  void fail(table& t, const std::string& key, unsigned free_failures, clock::time_point now);
  std::optional<std::chrono::seconds> wait_for(const table& t, const std::string& key,
                                               clock::time_point now) const;
  void prune(table& t, clock::time_point now);

  throttle_policy policy_;
  std::size_t max_entries_;
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
