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

throttle::throttle(throttle_policy policy, std::size_t max_entries)
    : policy_(policy), max_entries_(max_entries) {}

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
  const auto by_member = wait_for(members_, std::string(member) + '\n' + addr, now);
  const auto by_address = wait_for(addresses_, addr, now);
  if (by_member && by_address) {
    return std::max(*by_member, *by_address);
  }
  return by_member ? by_member : by_address;
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
    const unsigned doublings = std::min(e.failures - free_failures - 1, 20U);
    const auto delay =
        std::min<std::chrono::seconds>(policy_.base_delay * (1LL << doublings), policy_.max_delay);
    e.blocked_until = now + delay;
  }
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

void throttle::record_failure(std::string_view member, std::string_view address,
                              clock::time_point now) {
  const auto addr = address_key(address);
  std::lock_guard lock(mutex_);
  fail(members_, std::string(member) + '\n' + addr, policy_.member_free_failures, now);
  fail(addresses_, addr, policy_.address_free_failures, now);
}

void throttle::record_success(std::string_view member, std::string_view address) {
  const auto addr = address_key(address);
  std::lock_guard lock(mutex_);
  members_.erase(std::string(member) + '\n' + addr);
}

}  // namespace hush::auth
