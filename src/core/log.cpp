#include "core/log.hpp"

#include <atomic>
#include <chrono>
#include <ctime>
#include <string>
#include <string_view>
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

// Length of the well-formed UTF-8 sequence at the start of `rest` (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 if there is none.
std::size_t utf8_sequence_size(std::string_view rest) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(rest[i]); };
  const auto lead = byte(0);
  std::size_t size = 0;
  unsigned char low = 0x80;  // the range of the second byte, which rules out the bad forms
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    size = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    size = 3;
    low = lead == 0xe0 ? 0xa0 : 0x80;
    high = lead == 0xed ? 0x9f : 0xbf;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    size = 4;
    low = lead == 0xf0 ? 0x90 : 0x80;
    high = lead == 0xf4 ? 0x8f : 0xbf;
  } else {
    return 0;
  }
  if (rest.size() < size || byte(1) < low || byte(1) > high) {
    return 0;
  }
  for (std::size_t i = 2; i < size; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) {
      return 0;
    }
  }
  return size;
}

void append_escaped_byte(std::string& out, unsigned char b) {
  constexpr std::string_view hex = "0123456789abcdef";
  out.append("\\x");
  out.push_back(hex[b >> 4]);
  out.push_back(hex[b & 0x0f]);
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto b = static_cast<unsigned char>(text.front());
    if (b == '\\') {
      out.append("\\\\");
      text.remove_prefix(1);
    } else if (b < 0x80) {
      if (b < 0x20 || b == 0x7f) {
        append_escaped_byte(out, b);  // the C0 controls and DEL
      } else {
        out.push_back(static_cast<char>(b));
      }
      text.remove_prefix(1);
    } else if (const auto size = utf8_sequence_size(text); size == 0) {
      // Not UTF-8: a lone 0x80-0x9f is a C1 control to a terminal in an 8-bit mode.
      append_escaped_byte(out, b);
      text.remove_prefix(1);
    } else if (b == 0xc2 && static_cast<unsigned char>(text[1]) <= 0x9f) {
      // U+0080-U+009F, the C1 controls: U+009B is a terminal's CSI, as ESC [ is.
      append_escaped_byte(out, b);
      append_escaped_byte(out, static_cast<unsigned char>(text[1]));
      text.remove_prefix(2);
    } else {
      out.append(text.substr(0, size));
      text.remove_prefix(size);
    }
  }
  return out;
}

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
  // Every line may hold a client's bytes (a path, a name): escaped here, once for all callers,
  // so that none can forge a line or drive the terminal that shows the log.
  out.append(escape(line));
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
