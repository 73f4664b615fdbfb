#include "core/clock.hpp"

#include <chrono>
#include <ctime>

namespace hush {

std::int64_t system_clock::now_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_utc(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char out[32];
  const auto size = std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return {out, size};
}

}  // namespace hush
