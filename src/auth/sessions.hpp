#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "club/credentials.hpp"

namespace hush::auth {

// Browser sessions. The cookie carries a random 256-bit token (new_token()); the store keeps only
// session_hash(token), with its own domain separation, so neither a database dump nor an API
// token can stand in for a session.
inline constexpr std::string_view session_cookie_name = "__Host-hush";

using club::session_hash;

// The session token in a Cookie header value: exactly one __Host-hush cookie holding a
// well-formed token, or nullopt (two of them are refused rather than guessed between).
std::optional<std::string_view> session_from_cookies(std::string_view cookie_header);

// Set-Cookie values: the session (Secure, HttpOnly, SameSite=Strict, Path=/, no Domain, as the
// __Host- prefix demands) and its removal.
std::string session_cookie(std::string_view token, std::chrono::seconds max_age);
std::string cleared_session_cookie();

// The anti-CSRF token of a session: a keyed BLAKE2b of a fixed label under the session token.
// Whoever can compute it already holds the cookie, and a page of another origin can neither read
// the cookie (HttpOnly) nor this token (same-origin policy), so the server stores nothing for it.
std::string csrf_token(std::string_view session_token);
// Constant-time comparison of a presented token with the session's.
bool csrf_matches(std::string_view session_token, std::string_view presented);

}  // namespace hush::auth
