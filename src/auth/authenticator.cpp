#include "auth/authenticator.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "core/log.hpp"
#include "crypto/encoding.hpp"

namespace hush::auth {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Longer credentials are refused before they are decoded or hashed.
constexpr std::size_t max_authorization_size = 4096;

}  // namespace

std::optional<basic_credentials> parse_basic(std::string_view authorization) {
  if (authorization.size() > max_authorization_size) {
    return std::nullopt;
  }
  const auto space = authorization.find(' ');
  if (space == std::string_view::npos || !iequals(authorization.substr(0, space), "basic")) {
    return std::nullopt;
  }
  auto encoded = authorization.substr(space + 1);
  while (!encoded.empty() && encoded.front() == ' ') {
    encoded.remove_prefix(1);
  }
  while (!encoded.empty() && encoded.back() == ' ') {
    encoded.remove_suffix(1);
  }
  const auto decoded = crypto::base64_decode(encoded);
  if (!decoded || decoded->empty()) {
    return std::nullopt;
  }
  const auto text = decoded->view();
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return std::nullopt;
  }
  return basic_credentials{std::string(text.substr(0, colon)),
                           secret_string(std::string(text.substr(colon + 1)))};
}

result<member> authenticator::authenticate_basic(std::string_view authorization) {
  auto credentials = parse_basic(authorization);
  if (!credentials) {
    return make_error_code(errc::unauthorized);
  }
  return authenticate_password(credentials->user, credentials->password.view());
}

result<member> authenticator::authenticate_password(std::string_view name,
                                                    std::string_view password) {
  auto record = store_.find_member(name);
  if (!record) {
    if (record.error() != errc::not_found) {
      return record.error();
    }
    hasher_.verify_nobody(password);
    return make_error_code(errc::unauthorized);
  }
  if (!hasher_.verify(record->password_hash, password)) {
    return make_error_code(errc::unauthorized);
  }
  if (hasher_.needs_rehash(record->password_hash)) {
    // Compare-and-swap, so a password changed meanwhile is never overwritten with the old one.
    if (auto fresh = hasher_.hash(password); fresh) {
      if (!store_.replace_password_hash(record->name, record->password_hash, *fresh)) {
        log::info("password rehash skipped for a member whose hash changed meanwhile");
      }
    }
  }
  return member(std::move(record->name), record->member_role);
}

}  // namespace hush::auth
