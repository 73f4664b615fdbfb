#include "crypto/envelope.hpp"

#include <cstring>

#include <sodium.h>

#include "core/error.hpp"
#include "crypto/sodium.hpp"

namespace hush::crypto::envelope {
namespace {

static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == key_size);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == 16);

constexpr std::size_t nonce_offset = 5;

bool known_version(std::uint8_t v) noexcept {
  return v == version_1 || v == version_2;
}

std::vector<std::uint8_t> full_associated_data(std::span<const std::uint8_t> header_prefix,
                                               std::string_view associated_data) {
  std::vector<std::uint8_t> ad(header_prefix.size() + associated_data.size());
  std::memcpy(ad.data(), header_prefix.data(), header_prefix.size());
  if (!associated_data.empty()) {
    std::memcpy(ad.data() + header_prefix.size(), associated_data.data(), associated_data.size());
  }
  return ad;
}

}  // namespace

std::vector<std::uint8_t> seal(std::span<const std::uint8_t> key, std::uint32_t key_id_value,
                               std::span<const std::uint8_t> plaintext,
                               std::string_view associated_data, std::uint8_t version_value) {
  init();
  std::vector<std::uint8_t> out(header_size + plaintext.size() +
                                crypto_aead_xchacha20poly1305_ietf_ABYTES);
  out[0] = known_version(version_value) ? version_value : version_1;
  out[1] = static_cast<std::uint8_t>(key_id_value >> 24);
  out[2] = static_cast<std::uint8_t>(key_id_value >> 16);
  out[3] = static_cast<std::uint8_t>(key_id_value >> 8);
  out[4] = static_cast<std::uint8_t>(key_id_value);
  // 192-bit random nonces: no counter to keep, no realistic chance of reuse.
  randombytes_buf(out.data() + nonce_offset, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);

  const auto ad = full_associated_data(std::span(out.data(), nonce_offset), associated_data);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + header_size, &written, plaintext.data(),
                                             plaintext.size(), ad.data(), ad.size(), nullptr,
                                             out.data() + nonce_offset, key.data());
  out.resize(header_size + written);
  return out;
}

result<std::uint8_t> version(std::span<const std::uint8_t> sealed) {
  if (sealed.size() < overhead || !known_version(sealed[0])) {
    return make_error_code(errc::crypto_failure);
  }
  return sealed[0];
}

result<std::uint32_t> key_id(std::span<const std::uint8_t> sealed) {
  if (!version(sealed)) {
    return make_error_code(errc::crypto_failure);
  }
  return (std::uint32_t{sealed[1]} << 24) | (std::uint32_t{sealed[2]} << 16) |
         (std::uint32_t{sealed[3]} << 8) | std::uint32_t{sealed[4]};
}

result<void> open_into(std::span<const std::uint8_t> key, std::span<const std::uint8_t> sealed,
                       std::string_view associated_data, std::span<std::uint8_t> out) {
  init();
  if (!version(sealed) || key.size() != key_size ||
      out.size() != sealed.size() - header_size - crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    return make_error_code(errc::crypto_failure);
  }
  const auto ad = full_associated_data(sealed.first(nonce_offset), associated_data);
  const auto ciphertext = sealed.subspan(header_size);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &written, nullptr, ciphertext.data(),
                                                 ciphertext.size(), ad.data(), ad.size(),
                                                 sealed.data() + nonce_offset, key.data()) != 0) {
    sodium_memzero(out.data(), out.size());
    return make_error_code(errc::crypto_failure);
  }
  return {};
}

result<secret_bytes> open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> sealed,
                          std::string_view associated_data) {
  if (!version(sealed)) {
    return make_error_code(errc::crypto_failure);
  }
  secret_bytes plain(sealed.size() - overhead);
  if (auto opened = open_into(key, sealed, associated_data, std::span(plain.data(), plain.size()));
      !opened) {
    return opened.error();
  }
  return plain;
}

}  // namespace hush::crypto::envelope
