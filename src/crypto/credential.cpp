#include "crypto/credential.hpp"

#include <algorithm>

#include <sodium.h>

#include "crypto/encoding.hpp"
#include "crypto/random.hpp"
#include "crypto/sodium.hpp"

namespace hush::crypto {
namespace {

constexpr std::size_t token_bytes = 32;

}  // namespace

secret_string new_token() {
  const auto raw = random_bytes(token_bytes);
  auto text = base64url_encode(raw.span());
  text.erase(std::remove(text.begin(), text.end(), '='), text.end());
  return secret_string(std::move(text));
}

std::array<std::uint8_t, 32> labelled_hash(std::string_view label, std::string_view text) {
  init();
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(label.data()),
                            label.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(text.data()),
                            text.size());
  std::array<std::uint8_t, 32> out{};
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

}  // namespace hush::crypto
