#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hush::auth {

// A token bucket per key: `rate` tokens a second up to `burst`, one taken per event. Cheap (one
// map lookup under a mutex), with bounded memory: past `max_entries` keys, those whose bucket has
// refilled are forgotten first, then half of the rest. Thread safe.
class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  // rate 0 means no limit: take() always succeeds and nothing is stored.
  rate_limiter(double rate, double burst, std::size_t max_entries = 100'000);

  // Takes a token for `key`; nullopt if there was one, else how long until there is (at least
  // one second, rounded up, for a Retry-After header).
  std::optional<std::chrono::seconds> take(std::string_view key, clock::time_point now);

 private:
  struct bucket {
    double tokens = 0;
    clock::time_point updated{};
  };

  double refill(bucket& b, clock::time_point now) const;
  void prune(clock::time_point now);

  // Looked up by string_view, so that a request's check allocates no key.
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept {
      return std::hash<std::string_view>{}(key);
    }
  };

  double rate_;
  double burst_;
  std::size_t max_entries_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket, key_hash, std::equal_to<>> buckets_;
};

}  // namespace hush::auth
