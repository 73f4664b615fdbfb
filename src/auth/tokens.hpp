#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "club/credentials.hpp"
#include "core/secret.hpp"
#include "crypto/credential.hpp"

namespace hush::auth {

// API tokens: 256 random bits, written as 43 characters of unpadded base64url
// (crypto::new_token). The store keeps only token_hash(token) (club/credentials.hpp): with 256
// bits of entropy a fast hash is enough (nothing to brute-force), and a database dump yields no
// usable token.
using club::token_hash;
using crypto::labelled_hash;
using crypto::new_token;

// True for 43 base64url characters, the shape of every token new_token() makes.
bool is_token_shaped(std::string_view text) noexcept;

// The token of an "Authorization: Bearer <token>" value; nullopt if it is another scheme or the
// token is not 43 base64url characters.
std::optional<std::string_view> parse_bearer(std::string_view authorization);

// "30d", "12h", "90m", "3600s" -> seconds; nullopt for anything else or a value over ten years.
std::optional<std::int64_t> parse_duration(std::string_view text);

}  // namespace hush::auth
