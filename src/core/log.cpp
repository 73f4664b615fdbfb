#include "core/log.hpp"

#include <atomic>
#include <chrono>
#include <ctime>
#include <string>
#include <unistd.h>

namespace hush::log {
namespace {

std::atomic<level> minimum_level{level::info};

const char* name_of(level lvl) {
  switch (lvl) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "?";
}

}  // namespace

void set_level(level minimum) noexcept {
  minimum_level.store(minimum);
}

bool enabled(level lvl) noexcept {
  return lvl >= minimum_level.load(std::memory_order_relaxed);
}

void write(level lvl, std::string_view line) {
  if (!enabled(lvl)) {
    return;
  }
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  const auto stamp_size = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);

  std::string out;
  out.reserve(stamp_size + line.size() + 16);
  out.append(stamp, stamp_size).append(" ").append(name_of(lvl)).append(" ");
  // Control characters would let a logged name forge log lines; show them escaped.
  for (const char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out.append("?");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\n');
  // One write(2) per line: atomic for lines below PIPE_BUF, good enough for longer ones.
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, out.data(), out.size());
}

void rate_limited::write(level lvl, std::string_view line) {
  if (!enabled(lvl)) {
    return;
  }
  if (auto out = admit(line, clock::now())) {
    log::write(lvl, *out);
  }
}

std::optional<std::string> rate_limited::admit(std::string_view line, clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (last_ && now - *last_ < interval_) {
    ++held_back_;
    return std::nullopt;
  }
  last_ = now;
  std::string out(line);
  if (held_back_ > 0) {
    out += " (" + std::to_string(held_back_) + " more)";
    held_back_ = 0;
  }
  return out;
}

}  // namespace hush::log
