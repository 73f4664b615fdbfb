#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/secret.hpp"

namespace hush::crypto {

// A random credential for a machine to carry (API tokens, session cookies): 256 bits from the
// CSRNG, written as 43 characters of unpadded base64url. Zeroed when dropped.
secret_string new_token();

// BLAKE2b-256 of `text` under a domain label, so that a hash made for one purpose can never
// stand for another. With 256-bit inputs a fast hash is enough: nothing to brute-force.
std::array<std::uint8_t, 32> labelled_hash(std::string_view label, std::string_view text);

}  // namespace hush::crypto
