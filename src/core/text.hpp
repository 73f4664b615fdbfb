#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hush {

// `text` with ASCII letters in lower case, as host names, URL schemes and origins compare.
inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// One code point of UTF-8: its value, and how many bytes it takes.
struct code_point {
  std::uint32_t value = 0;
  std::size_t size = 0;
};

// The code point that starts at text[at] (at < text.size()), or nullopt when the bytes there are
// not well-formed UTF-8: a stray continuation byte, a truncated sequence, an overlong encoding, a
// surrogate, or a value above U+10FFFF.
std::optional<code_point> decode_utf8(std::string_view text, std::size_t at) noexcept;

}  // namespace hush
