#pragma once

#include <cstdint>
#include <string>

namespace hush {

// Wall-clock seconds since the Unix epoch. An interface so that tests can fix the time.
class clock {
 public:
  virtual ~clock() = default;
  virtual std::int64_t now_seconds() const = 0;
};

class system_clock final : public clock {
 public:
  std::int64_t now_seconds() const override;
};

// "2026-11-29T04:28:03Z"
std::string format_utc(std::int64_t unix_seconds);

}  // namespace hush
