#include "web/assets.hpp"

#include <algorithm>

namespace hush::web {

const asset* find_asset(std::string_view path) noexcept {
  const auto all = embedded();
  const auto found =
      std::find_if(all.begin(), all.end(), [&](const asset& a) { return a.path == path; });
  return found == all.end() ? nullptr : &*found;
}

}  // namespace hush::web
