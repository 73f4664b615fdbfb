#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/secret.hpp"

namespace hush::crypto {

// A sealed value at rest: version (1 byte) | key id (4 bytes, big-endian) | nonce (24 bytes) |
// XChaCha20-Poly1305 ciphertext and tag. The header is authenticated together with the caller's
// associated data, so neither the key id nor the context (e.g. a message id) can be swapped.
namespace envelope {

inline constexpr std::uint8_t version_1 = 1;
inline constexpr std::size_t key_size = 32;
inline constexpr std::size_t header_size = 1 + 4 + 24;
inline constexpr std::size_t overhead = header_size + 16;

// Precondition: key.size() == key_size. Thread safe.
std::vector<std::uint8_t> seal(const secret_bytes& key, std::uint32_t key_id,
                               std::span<const std::uint8_t> plaintext,
                               std::string_view associated_data);

// The key id an envelope names; crypto_failure if it is not a well-formed envelope.
result<std::uint32_t> key_id(std::span<const std::uint8_t> sealed);

// crypto_failure if the envelope was altered, sealed under another key or for other data.
result<secret_bytes> open(const secret_bytes& key, std::span<const std::uint8_t> sealed,
                          std::string_view associated_data);

}  // namespace envelope
}  // namespace hush::crypto
