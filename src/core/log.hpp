#pragma once

#include <string>
#include <string_view>

namespace hush::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

// Lines go to stderr, one write per line so threads never interleave within a line. Never pass a
// secret (password, token, key, message body) to these functions: callers log ids and names only.
// A line may hold a client's text as it came: write() escapes every line (see escape()).
void set_level(level minimum) noexcept;
// True if lines of this level are written; check it before building an expensive line.
bool enabled(level lvl) noexcept;
void write(level lvl, std::string_view line);

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

}  // namespace hush::log
