#include "auth/throttle.hpp"

#include <algorithm>

#include <boost/asio/ip/address.hpp>

namespace hush::auth {

std::string address_key(std::string_view address) {
  boost::system::error_code ec;
  const auto parsed = boost::asio::ip::make_address(std::string(address), ec);
  if (ec || !parsed.is_v6()) {
    return std::string(address);
  }
  auto bytes = parsed.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

std::string network_key(std::string_view address) {
  boost::system::error_code ec;
  const auto parsed = boost::asio::ip::make_address(std::string(address), ec);
  if (ec) {
    return std::string(address);
  }
  if (parsed.is_v4()) {
    auto bytes = parsed.to_v4().to_bytes();
    bytes[3] = 0;
    return boost::asio::ip::address_v4(bytes).to_string() + "/24";
  }
  auto bytes = parsed.to_v6().to_bytes();
  std::fill(bytes.begin() + 7, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/56";
}

throttle::throttle(throttle_policy policy, std::size_t max_entries, failure_ledger* ledger)
    : policy_(policy), max_entries_(max_entries), ledger_(ledger) {}

namespace {

std::optional<std::chrono::seconds> longer(std::optional<std::chrono::seconds> a,
                                           std::optional<std::chrono::seconds> b) {
  if (a && b) {
    return std::max(*a, *b);
  }
  return a ? a : b;
}

std::string member_key_of(std::string_view member, const std::string& address) {
  std::string key;
  key.reserve(member.size() + 1 + address.size());
  key.append(member);
  key.push_back('\n');
  key.append(address);
  return key;
}

}  // namespace

std::optional<std::chrono::seconds> throttle::wait_for(const table& t, const std::string& key,
                                                       clock::time_point now) const {
  const auto found = t.find(key);
  if (found == t.end() || now >= found->second.blocked_until) {
    return std::nullopt;
  }
  // Round up: a client that waits exactly Retry-After seconds must find the key free.
  const auto left = found->second.blocked_until - now;
  return std::chrono::ceil<std::chrono::seconds>(left);
}

std::optional<std::chrono::seconds> throttle::blocked(std::string_view member,
                                                      std::string_view address,
                                                      clock::time_point now) {
  const auto addr = address_key(address);
  std::lock_guard lock(mutex_);
  return longer(wait_for(members_, member_key_of(member, addr), now),
                wait_for(addresses_, addr, now));
}

void throttle::fail(table& t, const std::string& key, unsigned free_failures,
                    clock::time_point now) {
  if (t.size() >= max_entries_ && t.find(key) == t.end()) {
    prune(t, now);
  }
  auto& e = t[key];
  // A key that has been quiet for the longest delay starts afresh.
  if (e.failures > 0 && now - e.last_failure > policy_.max_delay) {
    e = entry{};
  }
  ++e.failures;
  e.last_failure = now;
  if (e.failures > free_failures) {
    e.blocked_until = now + delay_after(e.failures, free_failures);
  }
}

std::chrono::seconds throttle::delay_after(unsigned failures, unsigned free_failures) const {
  if (failures <= free_failures) {
    return std::chrono::seconds{0};
  }
  const unsigned doublings = std::min(failures - free_failures - 1, 20U);
  return std::min<std::chrono::seconds>(policy_.base_delay * (1LL << doublings), policy_.max_delay);
}

void throttle::adopt(table& t, const std::string& key, failure_ledger::seen seen,
                     unsigned free_failures, clock::time_point now) {
  // The store's clock may have stepped back (or failed over to another host's): a failure "in
  // the future" counts as one now, never as a longer block.
  const auto quiet = std::max(seen.quiet, std::chrono::seconds{0});
  // As in memory: a key quiet for the longest delay starts afresh.
  if (quiet > policy_.max_delay) {
    return;
  }
  const auto until = now - quiet + delay_after(seen.failures, free_failures);
  const auto found = t.find(key);
  if (until <= now || (found != t.end() && found->second.blocked_until >= until)) {
    return;
  }
  if (found == t.end() && t.size() >= max_entries_) {
    prune(t, now);
  }
  // Only the block: memory's own count (and when it started afresh) stays its own.
  t[key].blocked_until = until;
}

std::optional<std::chrono::seconds> throttle::blocked_before(failure_ledger::seen added,
                                                             unsigned free_failures) const {
  if (added.failures <= 1) {
    return std::nullopt;  // the first, or the first since the key started afresh
  }
  const unsigned before = added.failures - 1;
  const auto quiet = std::max(added.quiet, std::chrono::seconds{0});
  const auto delay = delay_after(before, free_failures);
  if (quiet >= delay) {
    return std::nullopt;
  }
  return delay - quiet;
}

void throttle::adopt_all(const std::string& member_key, const std::string& address_key,
                         const failure_ledger::counts& counts, clock::time_point now) {
  std::lock_guard lock(mutex_);
  adopt(members_, member_key, counts[0], policy_.member_free_failures, now);
  adopt(addresses_, address_key, counts[1], policy_.address_free_failures, now);
}

result<std::optional<std::chrono::seconds>> throttle::blocked_everywhere(std::string_view member,
                                                                         std::string_view address,
                                                                         clock::time_point now) {
  if (ledger_ != nullptr) {
    const auto addr = address_key(address);
    const auto key = member_key_of(member, addr);
    auto counts = ledger_->failures(key, addr);
    if (!counts) {
      return counts.error();
    }
    adopt_all(key, addr, *counts, now);
  }
  return blocked(member, address, now);
}

void throttle::prune(table& t, clock::time_point now) {
  for (auto it = t.begin(); it != t.end();) {
    it = now >= it->second.blocked_until ? t.erase(it) : std::next(it);
  }
  // Every key is still blocked: drop half of them rather than grow without bound.
  if (t.size() >= max_entries_) {
    std::size_t n = 0;
    for (auto it = t.begin(); it != t.end();) {
      it = (n++ % 2 == 0) ? t.erase(it) : std::next(it);
    }
  }
}

result<std::optional<std::chrono::seconds>> throttle::count_attempt(std::string_view member,
                                                                    std::string_view address,
                                                                    clock::time_point now) {
  const auto addr = address_key(address);
  const auto key = member_key_of(member, addr);
  {
    // The check and the count in one step: of attempts that arrive together, only the free
    // ones pass.
    std::lock_guard lock(mutex_);
    const auto wait = longer(wait_for(members_, key, now), wait_for(addresses_, addr, now));
    if (wait) {
      return wait;
    }
    fail(members_, key, policy_.member_free_failures, now);
    fail(addresses_, addr, policy_.address_free_failures, now);
  }
  if (ledger_ == nullptr) {
    return std::optional<std::chrono::seconds>{};
  }
  // The same in the ledger, whose one statement counts this attempt and says what the key was
  // as it came in, however many other servers counted at the same moment.
  auto added = ledger_->add_failure(key, addr, policy_.max_delay);
  if (!added) {
    return added.error();
  }
  const auto wait = longer(blocked_before((*added)[0], policy_.member_free_failures),
                           blocked_before((*added)[1], policy_.address_free_failures));
  // The ledger's count, this attempt included, blocks here from now on as it does there.
  adopt_all(key, addr,
            {failure_ledger::seen{(*added)[0].failures, {}},
             failure_ledger::seen{(*added)[1].failures, {}}},
            now);
  return wait;
}

result<void> throttle::record_success(std::string_view member, std::string_view address) {
  const auto addr = address_key(address);
  const auto key = member_key_of(member, addr);
  {
    std::lock_guard lock(mutex_);
    members_.erase(key);
    // count_attempt let it through, so the address was not blocked as it came in: once this
    // attempt is taken off, a block is left only if other failures came in meanwhile.
    if (const auto found = addresses_.find(addr); found != addresses_.end()) {
      auto& e = found->second;
      e.failures = e.failures > 0 ? e.failures - 1 : 0;
      if (e.failures <= policy_.address_free_failures) {
        e.blocked_until = {};
      }
    }
  }
  if (ledger_ == nullptr) {
    return {};
  }
  return ledger_->forgive(key, addr);
}

}  // namespace hush::auth
