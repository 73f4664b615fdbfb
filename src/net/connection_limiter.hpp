#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hush::net {

struct connection_caps {
  std::size_t total = 0;
  std::size_t per_address = 0;  // an IPv4 address, an IPv6 /64 (auth::address_key)
  std::size_t per_network = 0;  // an IPv4 /24, an IPv6 /56 (auth::network_key)
};

// Counts open connections against caps overall, per client address and per client network, and
// keeps those that may be closed to make room in the order they became so: connections that have
// not proven themselves (still in the TLS handshake, or no whole request yet) and keep-alive
// connections idle between requests. When a cap is reached the oldest of them goes, so that a
// flood of silent, half-done or idle connections cannot keep a member out: at the overall cap the
// oldest unproven connection first (by arrival, whatever its stage: a member's connection only
// has to finish its first request before as many newer connections as the cap arrive), then the
// longest idle one; at an address's or a network's cap
// the oldest of that address's or network's own. A connection busy with a request is never
// chosen. Every operation is O(1) (hash lookups and list splices). Thread safe.
class connection_limiter {
 public:
  using ticket = std::uint64_t;
  // Closes a connection chosen to make room. Called outside the limiter's lock, on the thread
  // that opened the newcomer: it must only schedule the close on the connection's own thread.
  using evict_fn = std::function<void()>;

  enum class verdict { admitted, over_address_cap, over_network_cap, full };

  struct admission {
    verdict outcome = verdict::full;
    ticket id = 0;  // when admitted; never reused
    // When the newcomer took the place of another connection: call it to close that one. Its
    // place is already given back, so the caller admits the newcomer at once.
    evict_fn evicted;
  };

  explicit connection_limiter(connection_caps caps) : caps_(caps) {}

  // Takes a place for a new connection, making room if a cap is reached and one that may go is
  // there; otherwise refuses the newcomer.
  admission open(const std::string& address, const std::string& network);
  // Sets what closes the connection if it is chosen to make room. False when it was already
  // chosen (between open and here): the caller closes it.
  bool watch(ticket id, evict_fn evict);
  // The TLS handshake is done. False if the connection was chosen to make room meanwhile.
  bool handshake_done(ticket id);
  // A whole request has arrived: the connection is not chosen while it is served. False if it was
  // chosen to make room before: the caller must drop the request unanswered.
  bool request_seen(ticket id);
  // The answer is written and the connection waits for the next request: it may be chosen again,
  // after every unproven one, the longest idle first.
  void idle(ticket id);
  // Gives the place back; nothing if the connection was evicted (its place went at once).
  void close(ticket id);

  // True from three quarters of the overall cap on, where connections get less time to prove
  // themselves.
  bool under_pressure() const;
  std::size_t open_count() const;
  // The most connections open at once since the last call (or since the start), and now.
  struct peak_and_now {
    std::size_t peak = 0;
    std::size_t now = 0;
  };
  peak_and_now take_peak();

 private:
  enum class stage { handshake, first_request, busy, idle };
  using queue = std::list<ticket>;
  struct group {
    std::size_t count = 0;
    queue evictable;  // its connections that may go, oldest first
  };
  using groups = std::unordered_map<std::string, group>;
  struct entry {
    // Keys and pointers, not iterators: a rehash keeps elements where they are but invalidates
    // iterators.
    std::string address_key;
    std::string network_key;
    group* address = nullptr;
    group* network = nullptr;
    stage at = stage::handshake;
    // In the queue of its stage and its groups' queues, unless busy.
    queue::iterator in_stage;
    queue::iterator in_address;
    queue::iterator in_network;
    evict_fn evict;
  };
  using entries = std::unordered_map<ticket, entry>;

  queue& queue_of(stage at);
  void enqueue(entry& e, ticket id, stage at);
  void dequeue(entry& e);
  // The overall cap's choice: the oldest unproven, else the longest idle; 0 for none.
  ticket overall_victim() const;
  // Forgets the connection and gives back its place. Precondition: the lock is held.
  evict_fn release(entries::iterator found);

  connection_caps caps_;
  mutable std::mutex mutex_;
  ticket next_ = 1;
  entries entries_;
  groups addresses_;
  groups networks_;
  queue unproven_;  // in the handshake or without a whole first request; oldest first
  queue idle_;      // keep-alive, between requests; longest idle first
  std::size_t peak_ = 0;
};

}  // namespace hush::net
