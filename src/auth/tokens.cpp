#include "auth/tokens.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <sodium.h>

#include "crypto/encoding.hpp"
#include "crypto/random.hpp"
#include "crypto/sodium.hpp"

namespace hush::auth {
namespace {

constexpr std::size_t token_chars = 43;  // unpadded base64url of 32 bytes

bool is_base64url(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

}  // namespace

std::optional<std::string_view> parse_bearer(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() < scheme.size() ||
      !std::equal(scheme.begin(), scheme.end(), authorization.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return std::nullopt;
  }
  auto token = authorization.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  while (!token.empty() && token.back() == ' ') {
    token.remove_suffix(1);
  }
  if (!is_token_shaped(token)) {
    return std::nullopt;
  }
  return token;
}

bool is_token_shaped(std::string_view text) noexcept {
  return text.size() == token_chars && std::all_of(text.begin(), text.end(), is_base64url);
}

std::optional<std::int64_t> parse_duration(std::string_view text) {
  constexpr std::int64_t max_seconds = 10LL * 366 * 24 * 3600;
  if (text.size() < 2) {
    return std::nullopt;
  }
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return std::nullopt;
  }
  const auto digits = text.substr(0, text.size() - 1);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value <= 0 ||
      value > max_seconds / unit) {
    return std::nullopt;
  }
  return value * unit;
}

}  // namespace hush::auth
