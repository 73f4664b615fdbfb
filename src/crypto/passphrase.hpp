#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/secret.hpp"

// A value sealed under a passphrase, for keys that leave the machine or must not sit on its disk
// in the clear (a sealed master key, the keys inside a backup):
//   magic "HUSHPB1\n" (8 bytes) | Argon2id iterations (4, big-endian) | memory KiB (4) |
//   salt (16) | crypto::envelope (XChaCha20-Poly1305, key id 0)
// The key is Argon2id(passphrase, salt) with the costs in the header; the whole header and the
// caller's `context` are associated data, so neither the costs nor the purpose can be swapped.
namespace hush::crypto::passphrase {

// Costs for new seals: OWASP-grade and deliberately slow (about a second), since a stolen backup
// can be guessed at offline for as long as the thief likes.
inline constexpr std::uint32_t default_iterations = 3;
inline constexpr std::uint32_t default_memory_kib = 256 * 1024;
// The most open() accepts from a header, so that a forged file cannot make it allocate without
// bound.
inline constexpr std::uint32_t max_iterations = 16;
inline constexpr std::uint32_t max_memory_kib = 1024 * 1024;
inline constexpr std::size_t min_passphrase_size = 8;

// True when `bytes` begins like a passphrase-sealed value (the magic), whatever follows.
bool looks_sealed(std::span<const std::uint8_t> bytes) noexcept;

// Seals `plaintext` for `context`. invalid_argument for a passphrase shorter than
// min_passphrase_size. Thread safe; CPU- and memory-heavy.
result<std::vector<std::uint8_t>> seal(std::string_view passphrase,
                                       std::span<const std::uint8_t> plaintext,
                                       std::string_view context,
                                       std::uint32_t iterations = default_iterations,
                                       std::uint32_t memory_kib = default_memory_kib);

// crypto_failure for a wrong passphrase, another context, or an altered value (they cannot be
// told apart); invalid_argument for something that is not a sealed value or names costs beyond
// the maxima.
result<secret_bytes> open(std::string_view passphrase, std::span<const std::uint8_t> sealed,
                          std::string_view context);

}  // namespace hush::crypto::passphrase
