#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "crypto/fernet.hpp"

namespace hush::testing {

// A Fernet token of `plain` under a fresh key, stamped `at`: what an end-to-end message's poster
// hands the club, for tests that need one and not its key.
inline std::string fernet_token(std::string_view plain, std::int64_t at = 1) {
  const auto key = crypto::fernet::parse_key(crypto::fernet::generate_key().view());
  if (!key) {
    throw std::runtime_error("fernet key");
  }
  auto token = crypto::fernet::encrypt(
      *key, std::span(reinterpret_cast<const std::uint8_t*>(plain.data()), plain.size()), at);
  if (!token) {
    throw std::runtime_error("fernet token");
  }
  return *token;
}

}  // namespace hush::testing
