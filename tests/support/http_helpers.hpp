#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "crypto/encoding.hpp"

namespace hush::testing {

// An Authorization header value of the Basic scheme for "name:password".
inline std::string basic(std::string_view user_colon_password) {
  return "Basic " + crypto::base64_encode(
                        std::span(reinterpret_cast<const std::uint8_t*>(user_colon_password.data()),
                                  user_colon_password.size()));
}

}  // namespace hush::testing
