#include "core/log.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <unistd.h>

namespace hush::log {
namespace {

std::atomic<level> minimum_level{level::info};
std::atomic<format> current_format{format::text};

// Info and debug lines (the access log) may wait in a buffer, written whole when it fills and by
// flush(), as nginx's `access_log ... buffer=64k` does: one write(2) per 64 KiB instead of one
// per request. A warning or an error flushes it and goes out at once.
constexpr std::size_t buffer_bytes = 64 * 1024;
std::atomic<bool> buffering{false};
std::mutex pending_mutex;
std::string pending;

// The whole of `bytes` to stderr, however the writes split it (a pipe to journald may take part).
void write_all(std::string_view bytes) noexcept {
  while (!bytes.empty()) {
    const auto written = ::write(STDERR_FILENO, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) {
      continue;
    }
    if (written <= 0) {
      return;  // nowhere to log to: the line is lost, the server goes on
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
}

// Under pending_mutex.
void flush_pending() noexcept {
  write_all(pending);
  pending.clear();
}

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

// A JSON string of `text` as escape() makes it safe (so the object is always valid UTF-8 and
// holds no control character), with quotes and backslashes escaped for JSON.
// The most of one field's value (or of a plain line) that is written; the rest is cut and
// marked. A client chooses some values (a path, a certificate's name): bounded, no line comes
// near journald's LineMax, past which it would be split and the rest would start a line of its
// own, in the client's words.
constexpr std::size_t max_value_bytes = 256;
constexpr std::size_t max_line_text_bytes = 2048;

std::string bounded_escape(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) {
    return escape(text);
  }
  return escape(text.substr(0, limit)) + "...";
}

// Which bytes a value may hold and still be written as it is, without the copy escape() makes
// (the common case: addresses, names, paths, words of our own): printable ASCII but for the
// backslash and the given specials. A table, since every byte of every line is asked.
struct plain_bytes {
  std::array<bool, 256> ok{};
  constexpr explicit plain_bytes(std::string_view special) {
    for (unsigned b = 0x20; b < 0x7f; ++b) {
      ok[b] = b != '\\' && special.find(static_cast<char>(b)) == std::string_view::npos;
    }
  }
  bool all(std::string_view text) const noexcept {
    for (const char c : text) {
      if (!ok[static_cast<unsigned char>(c)]) {
        return false;
      }
    }
    return true;
  }
};
constexpr plain_bytes plain_name("");
constexpr plain_bytes plain_text_value(" \"=");
constexpr plain_bytes plain_json("\"");

void append_json_string(std::string& out, std::string_view text,
                        std::size_t limit = max_value_bytes) {
  out.push_back('"');
  if (text.size() <= limit && plain_json.all(text)) {
    out.append(text);
    out.push_back('"');
    return;
  }
  for (const char c : bounded_escape(text, limit)) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
}

// A text value as it is when it is one plain word; quoted otherwise, so that a client's text can
// never look like another key=value pair (a name tried of "x client=10.0.0.1", say).
void append_text_value(std::string& out, std::string_view text) {
  if (!text.empty() && text.size() <= max_value_bytes && plain_text_value.all(text)) {
    out.append(text);
    return;
  }
  const auto safe = bounded_escape(text, max_value_bytes);
  if (!safe.empty() && safe.find_first_of(" \"=") == std::string::npos) {
    out.append(safe);
    return;
  }
  out.push_back('"');
  for (const char c : safe) {
    if (c == '"') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
}

// "2026-11-30T11:43:01.123456Z". The date and time to the second are formatted once a second per
// thread (gmtime_r and strftime cost more than the rest of a line).
struct stamp {
  std::array<char, 40> text{};
  std::size_t size = 0;
};

stamp rfc3339_stamp(std::chrono::system_clock::time_point at) {
  const auto since_epoch = at.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - seconds);
  thread_local std::int64_t cached_second = std::numeric_limits<std::int64_t>::min();
  thread_local std::array<char, 32> cached{};
  thread_local std::size_t cached_size = 0;
  if (seconds.count() != cached_second) {
    const std::time_t whole = static_cast<std::time_t>(seconds.count());
    std::tm utc{};
    gmtime_r(&whole, &utc);
    cached_size = std::strftime(cached.data(), cached.size(), "%Y-%m-%dT%H:%M:%S", &utc);
    cached_second = seconds.count();
  }
  stamp out;
  std::memcpy(out.text.data(), cached.data(), cached_size);
  char* fraction = out.text.data() + cached_size;
  fraction[0] = '.';
  auto value = static_cast<std::uint32_t>(micros.count());
  for (std::size_t i = 6; i >= 1; --i) {
    fraction[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  fraction[7] = 'Z';
  out.size = cached_size + 8;
  return out;
}

void append_rfc3339(std::string& out, std::chrono::system_clock::time_point at) {
  const auto text = rfc3339_stamp(at);
  out.append(text.text.data(), text.size);
}

void append_number(std::string& out, std::int64_t value) {
  std::array<char, 24> digits{};
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  out.append(digits.data(), static_cast<std::size_t>(end - digits.data()));
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

void set_format(format f) noexcept {
  current_format.store(f);
}

std::optional<level> parse_level(std::string_view text) {
  for (const auto lvl : {level::debug, level::info, level::warn, level::error}) {
    if (text == name_of(lvl)) {
      return lvl;
    }
  }
  return std::nullopt;
}

std::optional<format> parse_format(std::string_view text) {
  if (text == "text") {
    return format::text;
  }
  if (text == "json") {
    return format::json;
  }
  return std::nullopt;
}

std::string rfc3339(std::chrono::system_clock::time_point at) {
  std::string out;
  append_rfc3339(out, at);
  return out;
}

namespace {

// The common text line, every value a plain word (the access line, nearly always): its size is
// known before it is written, so it is made with one resize and plain copies, about half the
// instructions of a string grown append by append. False, and nothing written, otherwise.
bool render_plain_text(std::string& out, level lvl, std::chrono::system_clock::time_point at,
                       std::string_view name, std::initializer_list<field> fields) {
  constexpr std::size_t most_fields = 16;
  if (fields.size() > most_fields || name.size() > max_line_text_bytes || !plain_name.all(name)) {
    return false;
  }
  std::array<std::array<char, 24>, most_fields> numbers{};
  std::array<std::size_t, most_fields> number_sizes{};
  const std::string_view level_name = name_of(lvl);
  const auto time = rfc3339_stamp(at);
  std::size_t size = time.size + 1 + level_name.size() + 1 + name.size();
  std::size_t i = 0;
  for (const auto& [key, value] : fields) {
    size += 2 + key.size();
    if (const auto* number = std::get_if<std::int64_t>(&value)) {
      const auto [end, ec] = std::to_chars(numbers[i].data(), numbers[i].data() + 24, *number);
      number_sizes[i] = static_cast<std::size_t>(end - numbers[i].data());
      size += number_sizes[i];
    } else {
      const auto text = std::get<std::string_view>(value);
      if (text.empty() || text.size() > max_value_bytes || !plain_text_value.all(text)) {
        return false;
      }
      size += text.size();
    }
    ++i;
  }
  const auto start = out.size();
  out.resize(start + size);
  char* at_byte = out.data() + start;
  const auto put = [&at_byte](std::string_view text) {
    std::memcpy(at_byte, text.data(), text.size());
    at_byte += text.size();
  };
  put({time.text.data(), time.size});
  *at_byte++ = ' ';
  put(level_name);
  *at_byte++ = ' ';
  put(name);
  i = 0;
  for (const auto& [key, value] : fields) {
    *at_byte++ = ' ';
    put(key);
    *at_byte++ = '=';
    if (std::holds_alternative<std::int64_t>(value)) {
      put({numbers[i].data(), number_sizes[i]});
    } else {
      put(std::get<std::string_view>(value));
    }
    ++i;
  }
  return true;
}

// render(), appended to `out`.
void render_into(std::string& out, format f, level lvl, std::chrono::system_clock::time_point at,
                 std::string_view name, std::initializer_list<field> fields) {
  if (f == format::json) {
    out.append("{\"time\":\"");
    append_rfc3339(out, at);
    out.append("\",\"level\":\"");
    out.append(name_of(lvl)).append("\",\"event\":");
    append_json_string(out, name, max_line_text_bytes);
    for (const auto& [key, value] : fields) {
      out.push_back(',');
      append_json_string(out, key);
      out.push_back(':');
      if (const auto* number = std::get_if<std::int64_t>(&value)) {
        append_number(out, *number);
      } else {
        // A plain line's text has the room of a line, a field the room of a value.
        append_json_string(out, std::get<std::string_view>(value),
                           key == "msg" ? max_line_text_bytes : max_value_bytes);
      }
    }
    out.push_back('}');
    return;
  }
  if (render_plain_text(out, lvl, at, name, fields)) {
    return;
  }
  append_rfc3339(out, at);
  out.append(" ").append(name_of(lvl)).append(" ");
  // Every line may hold a client's bytes (a path, a name): escaped here, once for all callers,
  // so that none can forge a line or drive the terminal that shows the log.
  if (name.size() <= max_line_text_bytes && plain_name.all(name)) {
    out.append(name);
  } else {
    out.append(bounded_escape(name, max_line_text_bytes));
  }
  for (const auto& [key, value] : fields) {
    out.push_back(' ');
    out.append(key).push_back('=');
    if (const auto* number = std::get_if<std::int64_t>(&value)) {
      append_number(out, *number);
    } else {
      append_text_value(out, std::get<std::string_view>(value));
    }
  }
}

}  // namespace

std::string render(format f, level lvl, std::chrono::system_clock::time_point at,
                   std::string_view name, std::initializer_list<field> fields) {
  std::string out;
  render_into(out, f, lvl, at, name, fields);
  return out;
}

void event(level lvl, std::string_view name, std::initializer_list<field> fields) {
  if (!enabled(lvl)) {
    return;
  }
  // Made in a buffer of the thread's own, which keeps its capacity: no allocation per line.
  thread_local std::string out;
  out.clear();
  render_into(out, current_format.load(std::memory_order_relaxed), lvl,
              std::chrono::system_clock::now(), name, fields);
  out.push_back('\n');
  if (lvl <= level::info && buffering.load(std::memory_order_relaxed)) {
    std::lock_guard lock(pending_mutex);
    pending.append(out);
    if (pending.size() >= buffer_bytes) {
      flush_pending();
    }
    return;
  }
  // A warning or an error goes out at once, after the lines before it, so the order holds.
  std::lock_guard lock(pending_mutex);
  flush_pending();
  write_all(out);
}

void set_buffered(bool on) noexcept {
  buffering.store(on);
  if (!on) {
    flush();
  }
}

void flush() noexcept {
  std::lock_guard lock(pending_mutex);
  flush_pending();
}

void write(level lvl, std::string_view line) {
  if (!enabled(lvl)) {
    return;
  }
  // A plain line is an event of its own: in text, just the line; in JSON, its "msg".
  if (current_format.load(std::memory_order_relaxed) == format::json) {
    event(lvl, "message", {{"msg", line}});
    return;
  }
  event(lvl, line, {});
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
