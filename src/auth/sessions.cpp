#include "auth/sessions.hpp"

#include <algorithm>

#include <sodium.h>

#include "auth/tokens.hpp"
#include "crypto/encoding.hpp"
#include "crypto/sodium.hpp"

namespace hush::auth {
namespace {

constexpr std::string_view csrf_label = "hush csrf v1";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

std::optional<std::string_view> session_from_cookies(std::string_view header) {
  std::optional<std::string_view> found;
  while (!header.empty()) {
    const auto semicolon = header.find(';');
    const auto pair = trim(header.substr(0, semicolon));
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == session_cookie_name) {
      if (found) {
        return std::nullopt;
      }
      found = pair.substr(eq + 1);
    }
    if (semicolon == std::string_view::npos) {
      break;
    }
    header.remove_prefix(semicolon + 1);
  }
  if (!found || !is_token_shaped(*found)) {
    return std::nullopt;
  }
  return found;
}

std::string session_cookie(std::string_view token, std::chrono::seconds max_age) {
  return std::string(session_cookie_name) + "=" + std::string(token) +
         "; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + std::to_string(max_age.count());
}

std::string cleared_session_cookie() {
  return std::string(session_cookie_name) +
         "=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0";
}

std::string csrf_token(std::string_view session_token) {
  crypto::init();
  std::array<unsigned char, 32> mac{};
  crypto_generichash(mac.data(), mac.size(),
                     reinterpret_cast<const unsigned char*>(csrf_label.data()), csrf_label.size(),
                     reinterpret_cast<const unsigned char*>(session_token.data()),
                     std::min<std::size_t>(session_token.size(), crypto_generichash_KEYBYTES_MAX));
  auto text = crypto::base64url_encode(mac);
  text.erase(std::remove(text.begin(), text.end(), '='), text.end());
  return text;
}

bool csrf_matches(std::string_view session_token, std::string_view presented) {
  const auto expected = csrf_token(session_token);
  return presented.size() == expected.size() &&
         sodium_memcmp(expected.data(), presented.data(), expected.size()) == 0;
}

}  // namespace hush::auth
