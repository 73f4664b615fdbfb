#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/secret.hpp"

namespace hush::crypto {

std::string to_hex(std::span<const std::uint8_t> bytes);

// Decoded bytes are held as secrets, since what is decoded is often a credential.

// Standard alphabet with padding (RFC 4648 section 4), as HTTP Basic uses.
std::string base64_encode(std::span<const std::uint8_t> bytes);
std::optional<secret_bytes> base64_decode(std::string_view text);

// URL-safe alphabet with padding (RFC 4648 section 5), as Fernet uses.
std::string base64url_encode(std::span<const std::uint8_t> bytes);
std::optional<secret_bytes> base64url_decode(std::string_view text);

}  // namespace hush::crypto
