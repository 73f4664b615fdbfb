#pragma once

#include <algorithm>
#include <cctype>
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

}  // namespace hush
