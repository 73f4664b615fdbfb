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

// Counts open connections against caps overall, per client address and per client network. The
// connections that have not yet proven themselves (no TLS handshake yet, or no first request yet)
// wait in arrival order, so that when the overall cap is reached the oldest of them, those still
// in the handshake first, makes room for the newcomer: a flood of silent connections cannot keep
// members out. Every operation is O(1) (hash lookups and list splices). Thread safe.
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

  // Takes a place for a new connection, making room at the overall cap if one not yet proven is
  // there to go. Over the address or network cap nothing is evicted: the newcomer is refused.
  admission open(const std::string& address, const std::string& network);
  // Sets what closes the connection if it is chosen to make room. False when it was already
  // chosen (between open and here): the caller closes it.
  bool watch(ticket id, evict_fn evict);
  // The TLS handshake is done: the connection now goes only after every one still in a handshake.
  void handshake_done(ticket id);
  // A whole request has arrived: the connection is never chosen to make room.
  void request_seen(ticket id);
  // Gives the place back; nothing if the connection was evicted (its place went at once).
  void close(ticket id);

  // True from three quarters of the overall cap on, where connections get less time to prove
  // themselves.
  bool under_pressure() const;
  std::size_t open_count() const;

 private:
  enum class stage { handshake, first_request, proven };
  struct entry {
    std::string address;
    std::string network;
    stage at = stage::handshake;
    std::list<ticket>::iterator queued;  // in the list of its stage, unless proven
    evict_fn evict;
  };

  std::list<ticket>& queue_of(stage at) { return at == stage::handshake ? handshaking_ : waiting_; }
  // Forgets the connection and gives back its place. Precondition: the lock is held.
  evict_fn release(std::unordered_map<ticket, entry>::iterator found);

  connection_caps caps_;
  mutable std::mutex mutex_;
  ticket next_ = 1;
  std::unordered_map<ticket, entry> entries_;
  std::unordered_map<std::string, std::size_t> per_address_;
  std::unordered_map<std::string, std::size_t> per_network_;
  std::list<ticket> handshaking_;  // oldest first
  std::list<ticket> waiting_;      // handshake done, no request yet; oldest first
};

}  // namespace hush::net
