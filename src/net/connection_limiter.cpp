#include "net/connection_limiter.hpp"

#include <algorithm>

namespace hush::net {

connection_limiter::queue& connection_limiter::queue_of(stage at) {
  switch (at) {
    case stage::handshake:
    case stage::first_request:
      return unproven_;
    case stage::busy:
    case stage::idle:
      break;
  }
  return idle_;
}

void connection_limiter::enqueue(entry& e, ticket id, stage at) {
  e.at = at;
  auto& in_stage = queue_of(at);
  e.in_stage = in_stage.insert(in_stage.end(), id);
  e.in_address = e.address->evictable.insert(e.address->evictable.end(), id);
  e.in_network = e.network->evictable.insert(e.network->evictable.end(), id);
}

void connection_limiter::dequeue(entry& e) {
  if (e.at == stage::busy) {
    return;
  }
  queue_of(e.at).erase(e.in_stage);
  e.address->evictable.erase(e.in_address);
  e.network->evictable.erase(e.in_network);
}

connection_limiter::ticket connection_limiter::overall_victim() const {
  if (!unproven_.empty()) {
    return unproven_.front();
  }
  return idle_.empty() ? 0 : idle_.front();
}

connection_limiter::admission connection_limiter::open(const std::string& address,
                                                       const std::string& network) {
  std::lock_guard lock(mutex_);
  const auto count_in = [](const groups& g, const std::string& key) {
    const auto found = g.find(key);
    return found == g.end() ? std::size_t{0} : found->second.count;
  };
  const auto oldest_in = [](const groups& g, const std::string& key) -> ticket {
    const auto found = g.find(key);
    return found == g.end() || found->second.evictable.empty() ? 0
                                                               : found->second.evictable.front();
  };
  // At most one connection makes room: the one chosen at the narrowest cap that is reached shares
  // the newcomer's address or network, so its going frees a place under every wider cap too.
  ticket victim = 0;
  if (count_in(addresses_, address) >= caps_.per_address) {
    if ((victim = oldest_in(addresses_, address)) == 0) {
      return {verdict::over_address_cap, 0, {}};
    }
  } else if (count_in(networks_, network) >= caps_.per_network) {
    if ((victim = oldest_in(networks_, network)) == 0) {
      return {verdict::over_network_cap, 0, {}};
    }
  } else if (entries_.size() >= caps_.total) {
    if ((victim = overall_victim()) == 0) {
      return {verdict::full, 0, {}};
    }
  }
  evict_fn evicted;
  if (victim != 0) {
    evicted = release(entries_.find(victim));
    if (!evicted) {
      evicted = [] {};  // not watched yet: watch() will say so
    }
  }
  const ticket id = next_++;
  entry e;
  e.address_key = address;
  e.network_key = network;
  e.address = &addresses_[address];
  e.network = &networks_[network];
  ++e.address->count;
  ++e.network->count;
  enqueue(e, id, stage::handshake);
  entries_.emplace(id, std::move(e));
  peak_ = std::max(peak_, entries_.size());
  return {verdict::admitted, id, std::move(evicted)};
}

bool connection_limiter::watch(ticket id, evict_fn evict) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(id);
  if (found == entries_.end()) {
    return false;
  }
  found->second.evict = std::move(evict);
  return true;
}

bool connection_limiter::handshake_done(ticket id) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(id);
  if (found == entries_.end()) {
    return false;
  }
  // Still in arrival order among the unproven: finishing a handshake buys no place ahead of
  // older connections, or a flood of completed-but-silent ones would make a member mid-handshake
  // the next one chosen.
  if (found->second.at == stage::handshake) {
    found->second.at = stage::first_request;
  }
  return true;
}

bool connection_limiter::request_seen(ticket id) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(id);
  if (found == entries_.end()) {
    return false;
  }
  dequeue(found->second);
  found->second.at = stage::busy;
  return true;
}

void connection_limiter::idle(ticket id) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(id);
  if (found == entries_.end() || found->second.at != stage::busy) {
    return;
  }
  enqueue(found->second, id, stage::idle);
}

void connection_limiter::close(ticket id) {
  std::lock_guard lock(mutex_);
  if (const auto found = entries_.find(id); found != entries_.end()) {
    release(found);
  }
}

connection_limiter::evict_fn connection_limiter::release(entries::iterator found) {
  auto& e = found->second;
  dequeue(e);
  if (--e.address->count == 0) {
    addresses_.erase(e.address_key);
  }
  if (--e.network->count == 0) {
    networks_.erase(e.network_key);
  }
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

connection_limiter::peak_and_now connection_limiter::take_peak() {
  std::lock_guard lock(mutex_);
  const peak_and_now seen{peak_, entries_.size()};
  peak_ = entries_.size();
  return seen;
}

}  // namespace hush::net
