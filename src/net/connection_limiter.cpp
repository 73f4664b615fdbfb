#include "net/connection_limiter.hpp"

namespace hush::net {
namespace {

std::size_t count_of(const std::unordered_map<std::string, std::size_t>& counts,
                     const std::string& key) {
  const auto found = counts.find(key);
  return found == counts.end() ? 0 : found->second;
}

void decrement(std::unordered_map<std::string, std::size_t>& counts, const std::string& key) {
  if (const auto found = counts.find(key); found != counts.end() && --found->second == 0) {
    counts.erase(found);
  }
}

}  // namespace

connection_limiter::admission connection_limiter::open(const std::string& address,
                                                       const std::string& network) {
  std::lock_guard lock(mutex_);
  if (count_of(per_address_, address) >= caps_.per_address) {
    return {verdict::over_address_cap, 0, {}};
  }
  if (count_of(per_network_, network) >= caps_.per_network) {
    return {verdict::over_network_cap, 0, {}};
  }
  evict_fn evicted;
  if (entries_.size() >= caps_.total) {
    // Those still in the handshake go first: a member's connection that got through its
    // handshake outlives any number of connections that never start one.
    auto& victims = handshaking_.empty() ? waiting_ : handshaking_;
    if (victims.empty()) {
      return {verdict::full, 0, {}};
    }
    evicted = release(entries_.find(victims.front()));
    if (!evicted) {
      evicted = [] {};  // not watched yet: watch() will say so
    }
  }
  const ticket id = next_++;
  handshaking_.push_back(id);
  entries_.emplace(id,
                   entry{address, network, stage::handshake, std::prev(handshaking_.end()), {}});
  ++per_address_[address];
  ++per_network_[network];
  return {verdict::admitted, id, std::move(evicted)};
}

bool connection_limiter::watch(ticket id, evict_fn evict) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(id);
  if (found == entries_.end()) {
    return false;
  }
  if (found->second.at != stage::proven) {
    found->second.evict = std::move(evict);
  }
  return true;
}

void connection_limiter::handshake_done(ticket id) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(id);
  if (found == entries_.end() || found->second.at != stage::handshake) {
    return;
  }
  waiting_.splice(waiting_.end(), handshaking_, found->second.queued);
  found->second.at = stage::first_request;
}

void connection_limiter::request_seen(ticket id) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(id);
  if (found == entries_.end() || found->second.at == stage::proven) {
    return;
  }
  queue_of(found->second.at).erase(found->second.queued);
  found->second.at = stage::proven;
  found->second.evict = nullptr;
}

void connection_limiter::close(ticket id) {
  std::lock_guard lock(mutex_);
  if (const auto found = entries_.find(id); found != entries_.end()) {
    release(found);
  }
}

connection_limiter::evict_fn connection_limiter::release(
    std::unordered_map<ticket, entry>::iterator found) {
  auto& e = found->second;
  if (e.at != stage::proven) {
    queue_of(e.at).erase(e.queued);
  }
  decrement(per_address_, e.address);
  decrement(per_network_, e.network);
  auto evict = std::move(e.evict);
  entries_.erase(found);
  return evict;
}

bool connection_limiter::under_pressure() const {
  std::lock_guard lock(mutex_);
  return entries_.size() * 4 >= caps_.total * 3;
}

std::size_t connection_limiter::open_count() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace hush::net
