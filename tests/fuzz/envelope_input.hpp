#pragma once

// How fuzz_envelope reads its input, shared with tools/make_envelope_seeds.cpp so that the seeds
// it writes are envelopes that open: byte 0 is the context length n, the next n bytes are the
// context (associated data), the rest is the sealed envelope.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/secret.hpp"
#include "crypto/envelope.hpp"

namespace hush::fuzz {

// The fixed key every envelope in the corpus is sealed under: bytes 0x00, 0x01, ..., 0x1f.
inline secret_bytes fixed_envelope_key() {
  secret_bytes key(crypto::envelope::key_size);
  for (std::size_t i = 0; i < key.size(); ++i) {
    key.data()[i] = static_cast<std::uint8_t>(i);
  }
  return key;
}

struct envelope_input {
  std::string_view context;
  std::span<const std::uint8_t> sealed;
};

inline envelope_input split_envelope_input(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return {};
  }
  const std::size_t n = std::min<std::size_t>(data[0], size - 1);
  return {std::string_view(reinterpret_cast<const char*>(data + 1), n),
          std::span<const std::uint8_t>(data + 1 + n, size - 1 - n)};
}

}  // namespace hush::fuzz
