#include "core/text.hpp"

namespace hush {

std::optional<code_point> decode_utf8(std::string_view text, std::size_t at) noexcept {
  const auto lead = static_cast<unsigned char>(text[at]);
  std::size_t extra = 0;
  std::uint32_t value = 0;
  if (lead < 0x80) {
    return code_point{lead, 1};
  }
  if ((lead & 0xe0U) == 0xc0) {
    extra = 1;
    value = lead & 0x1fU;
  } else if ((lead & 0xf0U) == 0xe0) {
    extra = 2;
    value = lead & 0x0fU;
  } else if ((lead & 0xf8U) == 0xf0) {
    extra = 3;
    value = lead & 0x07U;
  } else {
    return std::nullopt;
  }
  if (extra > text.size() - at - 1) {
    return std::nullopt;
  }
  for (std::size_t k = 1; k <= extra; ++k) {
    const auto next = static_cast<unsigned char>(text[at + k]);
    if ((next & 0xc0U) != 0x80) {
      return std::nullopt;
    }
    value = (value << 6U) | (next & 0x3fU);
  }
  constexpr std::uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
  if (value < smallest[extra] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
    return std::nullopt;
  }
  return code_point{value, extra + 1};
}

}  // namespace hush
