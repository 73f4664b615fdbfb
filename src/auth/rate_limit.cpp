#include "auth/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace hush::auth {

rate_limiter::rate_limiter(double rate, double burst, std::size_t max_entries)
    : rate_(rate), burst_(std::max(burst, 1.0)), max_entries_(max_entries) {}

double rate_limiter::refill(bucket& b, clock::time_point now) const {
  const std::chrono::duration<double> elapsed = now - b.updated;
  if (elapsed.count() > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed.count() * rate_);
    b.updated = now;
  }
  return b.tokens;
}

std::optional<std::chrono::seconds> rate_limiter::take(std::string_view key,
                                                       clock::time_point now) {
  if (rate_ <= 0) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  auto found = buckets_.find(key);
  if (found == buckets_.end()) {
    if (buckets_.size() >= max_entries_) {
      prune(now);
    }
    found = buckets_.emplace(std::string(key), bucket{burst_, now}).first;
  }
  auto& b = found->second;
  if (refill(b, now) >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  const auto wait = std::ceil((1.0 - b.tokens) / rate_);
  return std::chrono::seconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(wait)));
}

void rate_limiter::prune(clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it = refill(it->second, now) >= burst_ ? buckets_.erase(it) : std::next(it);
  }
  // Every key is still spending: forget half rather than grow without bound (a forgotten key
  // starts with a full bucket, which only ever favours the client).
  if (buckets_.size() >= max_entries_) {
    std::size_t n = 0;
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = (n++ % 2 == 0) ? buckets_.erase(it) : std::next(it);
    }
  }
}

}  // namespace hush::auth
