#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/secret.hpp"

// A sealed value at rest: version (1 byte) | key id (4 bytes, big-endian) | nonce (24 bytes) |
// XChaCha20-Poly1305 ciphertext and tag. The header is authenticated together with the caller's
// associated data, so neither the version, the key id nor the context (e.g. a message id) can be
// swapped.
namespace hush::crypto::envelope {

// Both versions share the layout above. The version tells the caller which of its schemes for the
// associated data the value was sealed with (for messages: version 1 binds the id alone, version 2
// also the author, time and format). Since the version byte is authenticated, a value sealed with
// the richer scheme cannot be passed off as one sealed with the poorer one.
inline constexpr std::uint8_t version_1 = 1;
inline constexpr std::uint8_t version_2 = 2;
inline constexpr std::size_t key_size = 32;
inline constexpr std::size_t header_size = 1 + 4 + 24;
inline constexpr std::size_t overhead = header_size + 16;

// Precondition: key.size() == key_size and version is version_1 or version_2. Thread safe.
std::vector<std::uint8_t> seal(std::span<const std::uint8_t> key, std::uint32_t key_id,
                               std::span<const std::uint8_t> plaintext,
                               std::string_view associated_data, std::uint8_t version = version_1);
inline std::vector<std::uint8_t> seal(const secret_bytes& key, std::uint32_t key_id,
                                      std::span<const std::uint8_t> plaintext,
                                      std::string_view associated_data,
                                      std::uint8_t version = version_1) {
  return seal(key.span(), key_id, plaintext, associated_data, version);
}

// The version and key id an envelope names; crypto_failure if it is not a well-formed envelope.
result<std::uint8_t> version(std::span<const std::uint8_t> sealed);
result<std::uint32_t> key_id(std::span<const std::uint8_t> sealed);

// crypto_failure if the envelope was altered, sealed under another key or for other data.
result<secret_bytes> open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> sealed,
                          std::string_view associated_data);
inline result<secret_bytes> open(const secret_bytes& key, std::span<const std::uint8_t> sealed,
                                 std::string_view associated_data) {
  return open(key.span(), sealed, associated_data);
}
// The same into `out`, which must be exactly the plaintext's size (sealed.size() - overhead), so
// that a key can be opened straight into locked memory. `out` is zeroed on failure.
result<void> open_into(std::span<const std::uint8_t> key, std::span<const std::uint8_t> sealed,
                       std::string_view associated_data, std::span<std::uint8_t> out);

}  // namespace hush::crypto::envelope
