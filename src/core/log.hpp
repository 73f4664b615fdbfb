#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace hush::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

// How a line is written: text ("TIME LEVEL EVENT key=value ...", for people and fail2ban) or JSON
// (one object per line, for log pipelines). docs/operations.md lists the field names; they are a
// public contract.
enum class format { text, json };

// "debug", "info", "warn", "error"; nullopt for anything else.
std::optional<level> parse_level(std::string_view text);
// "text" or "json"; nullopt for anything else.
std::optional<format> parse_format(std::string_view text);

// One field of an event: a name of our own (never a client's text) and a value, which may be.
struct field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t> value;
};

// Lines go to stderr, one write per line so threads never interleave within a line. Never pass a
// secret (password, token, key, message body) to these functions: callers log ids and names only.
// A line may hold a client's text as it came: write() escapes every line (see escape()).
void set_level(level minimum) noexcept;
void set_format(format f) noexcept;
// With buffering on, info and debug lines wait in a 64 KiB buffer until it fills or flush() is
// called (the server calls it every second and when it stops); warn and error lines flush it and
// go at once. Off (the default): every line is written as it comes.
void set_buffered(bool on) noexcept;
void flush() noexcept;
// True if lines of this level are written; check it before building an expensive line.
bool enabled(level lvl) noexcept;
void write(level lvl, std::string_view line);
// A structured line: the event's name (a word of our own, "access", "auth-failed") and its
// fields. In text, a value with a space, a quote or an equals sign, or none at all, is quoted.
void event(level lvl, std::string_view name, std::initializer_list<field> fields);

// The line event() or write() would write at `at`, without the newline. Pure; for the tests.
std::string render(format f, level lvl, std::chrono::system_clock::time_point at,
                   std::string_view name, std::initializer_list<field> fields);
// RFC 3339 in UTC with microseconds: "2026-11-30T11:43:01.123456Z".
std::string rfc3339(std::chrono::system_clock::time_point at);

// `text` as write() puts it in the log: the C0 controls, DEL, the C1 controls (U+0080-U+009F)
// and every byte that is not part of well-formed UTF-8 as \xNN, a backslash as \\, the rest of
// UTF-8 as it is. The result holds no control character. Pure; thread safe.
std::string escape(std::string_view text);

inline void debug(std::string_view line) {
  write(level::debug, line);
}
inline void info(std::string_view line) {
  write(level::info, line);
}
inline void warn(std::string_view line) {
  write(level::warn, line);
}
inline void error(std::string_view line) {
  write(level::error, line);
}

// Lets through at most one line per interval from one place in the code; the lines held back are
// counted, and the next line let through says how many ("... (N more)"). For failures that can
// repeat as fast as a loop spins. Thread safe.
class rate_limited {
 public:
  using clock = std::chrono::steady_clock;

  explicit rate_limited(clock::duration interval = std::chrono::seconds(1)) : interval_(interval) {}

  void write(level lvl, std::string_view line);
  // The line to write at `now`, with the count held back since the last one; nullopt to hold it
  // back.
  std::optional<std::string> admit(std::string_view line, clock::time_point now);

 private:
  clock::duration interval_;
  std::mutex mutex_;
  std::optional<clock::time_point> last_;
  std::size_t held_back_ = 0;
};

}  // namespace hush::log
