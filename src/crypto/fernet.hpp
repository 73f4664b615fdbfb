#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/secret.hpp"

namespace hush::crypto {

// Fernet (https://github.com/fernet/spec), byte for byte as Python's cryptography.fernet:
// token = urlsafe-base64-with-padding(0x80 | timestamp (8 bytes, big-endian) | IV (16 bytes) |
// AES-128-CBC ciphertext, PKCS7 | HMAC-SHA256 of everything before it). The 32-byte key is the
// 16-byte HMAC key followed by the 16-byte AES key. All functions are thread safe.
namespace fernet {

inline constexpr std::uint8_t version = 0x80;
inline constexpr std::size_t key_size = 32;
inline constexpr std::size_t encoded_key_size = 44;  // urlsafe base64 of 32 bytes, with one '='
inline constexpr std::size_t iv_size = 16;
// Python's cryptography refuses, under a ttl, tokens stamped further ahead than this.
inline constexpr std::int64_t max_clock_skew_seconds = 60;

// A new random key, encoded as Python's Fernet.generate_key() prints it (44 characters).
secret_string generate_key();

// The 32 key bytes from exactly 44 characters of urlsafe base64 (with its padding);
// invalid_argument for anything else.
result<secret_bytes> parse_key(std::string_view encoded);

// The length of the token that encrypts `plaintext_size` bytes.
std::size_t token_size(std::size_t plaintext_size) noexcept;

// A token for `plaintext`, stamped `now` (Unix seconds), with a random IV. invalid_argument for
// a key that is not key_size bytes, a negative `now` or a plaintext of 2 GiB or more;
// crypto_failure only if OpenSSL fails.
result<std::string> encrypt(const secret_bytes& key, std::span<const std::uint8_t> plaintext,
                            std::int64_t now);

// As encrypt, with the caller's IV: for the spec's test vectors only. An IV must never repeat
// under one key.
result<std::string> encrypt_with_iv(const secret_bytes& key,
                                    std::span<const std::uint8_t> plaintext, std::int64_t now,
                                    std::span<const std::uint8_t, iv_size> iv);

// The plaintext of a token, whatever its age. crypto_failure for anything that is not a
// well-formed token made with this key (the HMAC is checked, in constant time, before any
// decryption). Like Python, the token must be urlsafe base64 with its padding; unlike Python,
// characters outside that alphabet are refused rather than skipped.
result<secret_bytes> decrypt(const secret_bytes& key, std::string_view token);

// As decrypt, and crypto_failure too if the token is older than `ttl_seconds` (>= 0) at `now`,
// or stamped more than max_clock_skew_seconds after `now`.
result<secret_bytes> decrypt(const secret_bytes& key, std::string_view token,
                             std::int64_t ttl_seconds, std::int64_t now);

// True if `token` has the shape of a Fernet token (alphabet, padding, version, length). Says
// nothing of who made it: only the key holder can check that.
bool well_formed(std::string_view token);

}  // namespace fernet
}  // namespace hush::crypto
