#include "crypto/fernet.hpp"

#include <cstring>
#include <memory>
#include <vector>

#include <climits>
#include <openssl/evp.h>

#include "core/error.hpp"
#include "crypto/encoding.hpp"
#include "crypto/random.hpp"

namespace hush::crypto::fernet {
namespace {

constexpr std::size_t half_key = key_size / 2;
constexpr std::size_t timestamp_size = 8;
constexpr std::size_t iv_offset = 1 + timestamp_size;
constexpr std::size_t header_size = iv_offset + iv_size;
constexpr std::size_t block_size = 16;
constexpr std::size_t hmac_size = 32;
// The smallest token holds one block of ciphertext: an empty plaintext pads to a full block.
constexpr std::size_t min_raw_size = header_size + block_size + hmac_size;
// EVP lengths are ints.
constexpr std::size_t max_plaintext_size = INT_MAX - block_size;

struct cipher_ctx_free {
  void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_free>;

std::error_code failure() {
  return make_error_code(errc::crypto_failure);
}

// HMAC-SHA256 under the first half of the key.
bool sign(const secret_bytes& key, std::span<const std::uint8_t> data,
          std::span<std::uint8_t, hmac_size> out) {
  std::size_t written = 0;
  return EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), half_key, data.data(),
                   data.size(), out.data(), out.size(), &written) != nullptr &&
         written == hmac_size;
}

bool valid_raw_size(std::size_t size) {
  return size >= min_raw_size && size - header_size - hmac_size <= max_plaintext_size &&
         (size - header_size - hmac_size) % block_size == 0;
}

std::uint64_t read_timestamp(const secret_bytes& raw) {
  std::uint64_t value = 0;
  for (std::size_t i = 1; i <= timestamp_size; ++i) {
    value = (value << 8) | raw.data()[i];
  }
  return value;
}

// Decodes and checks the shape; the HMAC is not looked at yet.
result<secret_bytes> unverified(std::string_view token) {
  auto raw = base64url_decode(token);
  if (!raw || !valid_raw_size(raw->size()) || raw->data()[0] != version) {
    return failure();
  }
  return std::move(*raw);
}

result<secret_bytes> open(const secret_bytes& key, const secret_bytes& raw) {
  if (key.size() != key_size) {
    return failure();
  }
  const auto signed_part = raw.span().first(raw.size() - hmac_size);
  std::array<std::uint8_t, hmac_size> expected{};
  if (!sign(key, signed_part, expected)) {
    return failure();
  }
  // Authenticate first, in constant time: nothing of an unauthenticated ciphertext is ever
  // decrypted, so a padding oracle has nothing to talk to.
  const bool authentic = constant_time_equal(expected, raw.span().last(hmac_size));
  secure_zero(expected.data(), expected.size());
  if (!authentic) {
    return failure();
  }

  const auto ciphertext = signed_part.subspan(header_size);
  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  secret_bytes padded(ciphertext.size() + block_size);
  int written = 0;
  int final_written = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_128_cbc(), nullptr, key.data() + half_key,
                         raw.data() + iv_offset) != 1 ||
      EVP_DecryptUpdate(ctx.get(), padded.data(), &written, ciphertext.data(),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), padded.data() + written, &final_written) != 1) {
    return failure();
  }
  return secret_bytes(padded.data(), static_cast<std::size_t>(written + final_written));
}

}  // namespace

secret_string generate_key() {
  const auto key = random_bytes(key_size);
  return secret_string(base64url_encode(key.span()));
}

result<secret_bytes> parse_key(std::string_view encoded) {
  if (encoded.size() != encoded_key_size) {
    return make_error_code(errc::invalid_argument);
  }
  auto key = base64url_decode(encoded);
  if (!key || key->size() != key_size) {
    return make_error_code(errc::invalid_argument);
  }
  return std::move(*key);
}

std::size_t token_size(std::size_t plaintext_size) noexcept {
  const std::size_t raw = header_size + (plaintext_size / block_size + 1) * block_size + hmac_size;
  return (raw + 2) / 3 * 4;
}

result<std::string> encrypt(const secret_bytes& key, std::span<const std::uint8_t> plaintext,
                            std::int64_t now) {
  const auto iv = random_bytes(iv_size);
  return encrypt_with_iv(key, plaintext, now, std::span<const std::uint8_t, iv_size>(iv.span()));
}

result<std::string> encrypt_with_iv(const secret_bytes& key,
                                    std::span<const std::uint8_t> plaintext, std::int64_t now,
                                    std::span<const std::uint8_t, iv_size> iv) {
  if (key.size() != key_size || now < 0 || plaintext.size() > max_plaintext_size) {
    return make_error_code(errc::invalid_argument);
  }
  const std::size_t padded = (plaintext.size() / block_size + 1) * block_size;
  std::vector<std::uint8_t> raw(header_size + padded + hmac_size);
  raw[0] = version;
  const auto stamp = static_cast<std::uint64_t>(now);
  for (std::size_t i = 0; i < timestamp_size; ++i) {
    raw[1 + i] = static_cast<std::uint8_t>(stamp >> (8 * (timestamp_size - 1 - i)));
  }
  std::memcpy(raw.data() + iv_offset, iv.data(), iv_size);

  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  int written = 0;
  int final_written = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_cbc(), nullptr, key.data() + half_key, iv.data()) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), raw.data() + header_size, &written, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), raw.data() + header_size + written, &final_written) != 1 ||
      static_cast<std::size_t>(written) + static_cast<std::size_t>(final_written) != padded) {
    return failure();
  }
  const auto signed_part = std::span<const std::uint8_t>(raw).first(header_size + padded);
  if (!sign(key, signed_part,
            std::span<std::uint8_t, hmac_size>(raw.data() + header_size + padded, hmac_size))) {
    return failure();
  }
  return base64url_encode(raw);
}

result<secret_bytes> decrypt(const secret_bytes& key, std::string_view token) {
  auto raw = unverified(token);
  if (!raw) {
    return raw.error();
  }
  return open(key, *raw);
}

result<secret_bytes> decrypt(const secret_bytes& key, std::string_view token,
                             std::int64_t ttl_seconds, std::int64_t now) {
  auto raw = unverified(token);
  if (!raw) {
    return raw.error();
  }
  if (ttl_seconds < 0 || now < 0) {
    return failure();
  }
  // Python's rule, in unsigned arithmetic that cannot overflow: expired if stamp + ttl < now,
  // from the future if now + skew < stamp.
  const std::uint64_t stamp = read_timestamp(*raw);
  const auto at = static_cast<std::uint64_t>(now);
  const auto ttl = static_cast<std::uint64_t>(ttl_seconds);
  if ((at > ttl && stamp < at - ttl) ||
      stamp > at + static_cast<std::uint64_t>(max_clock_skew_seconds)) {
    return failure();
  }
  return open(key, *raw);
}

bool well_formed(std::string_view token) {
  return static_cast<bool>(unverified(token));
}

}  // namespace hush::crypto::fernet
