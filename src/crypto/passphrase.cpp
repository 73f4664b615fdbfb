#include "crypto/passphrase.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <sodium.h>

#include "core/error.hpp"
#include "crypto/envelope.hpp"
#include "crypto/sodium.hpp"

namespace hush::crypto::passphrase {
namespace {

constexpr std::array<std::uint8_t, 8> magic = {'H', 'U', 'S', 'H', 'P', 'B', '1', '\n'};
constexpr std::size_t salt_size = crypto_pwhash_SALTBYTES;
constexpr std::size_t header_size = magic.size() + 4 + 4 + salt_size;
static_assert(salt_size == 16);

void put_u32(std::uint8_t* out, std::uint32_t v) {
  out[0] = static_cast<std::uint8_t>(v >> 24);
  out[1] = static_cast<std::uint8_t>(v >> 16);
  out[2] = static_cast<std::uint8_t>(v >> 8);
  out[3] = static_cast<std::uint8_t>(v);
}

std::uint32_t get_u32(const std::uint8_t* in) {
  return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) |
         std::uint32_t{in[3]};
}

// The header (as bytes) followed by the caller's context: what the envelope authenticates.
std::string associated_data(std::span<const std::uint8_t> header, std::string_view context) {
  std::string ad(reinterpret_cast<const char*>(header.data()), header.size());
  ad.append(context);
  return ad;
}

result<secret_bytes> derive(std::string_view passphrase, const std::uint8_t* salt,
                            std::uint32_t iterations, std::uint32_t memory_kib) {
  secret_bytes key(envelope::key_size);
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt, iterations,
                    static_cast<std::size_t>(memory_kib) * 1024,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    // Out of memory: not a wrong passphrase, and not to be reported as one.
    return make_error_code(errc::storage_failure);
  }
  return key;
}

}  // namespace

bool looks_sealed(std::span<const std::uint8_t> bytes) noexcept {
  return bytes.size() >= magic.size() && std::equal(magic.begin(), magic.end(), bytes.begin());
}

result<std::vector<std::uint8_t>> seal(std::string_view passphrase,
                                       std::span<const std::uint8_t> plaintext,
                                       std::string_view context, std::uint32_t iterations,
                                       std::uint32_t memory_kib) {
  init();
  if (passphrase.size() < min_passphrase_size) {
    return make_error_code(errc::invalid_argument);
  }
  std::vector<std::uint8_t> header(header_size);
  std::memcpy(header.data(), magic.data(), magic.size());
  put_u32(header.data() + magic.size(), iterations);
  put_u32(header.data() + magic.size() + 4, memory_kib);
  std::uint8_t* salt = header.data() + magic.size() + 8;
  randombytes_buf(salt, salt_size);
  auto key = derive(passphrase, salt, iterations, memory_kib);
  if (!key) {
    return key.error();
  }
  auto sealed = envelope::seal(*key, 0, plaintext, associated_data(header, context));
  header.insert(header.end(), sealed.begin(), sealed.end());
  return header;
}

result<secret_bytes> open(std::string_view passphrase, std::span<const std::uint8_t> sealed,
                          std::string_view context) {
  init();
  if (!looks_sealed(sealed) || sealed.size() < header_size + envelope::overhead) {
    return make_error_code(errc::invalid_argument);
  }
  const std::uint32_t iterations = get_u32(sealed.data() + magic.size());
  const std::uint32_t memory_kib = get_u32(sealed.data() + magic.size() + 4);
  if (iterations < crypto_pwhash_OPSLIMIT_MIN || iterations > max_iterations ||
      memory_kib * std::size_t{1024} < crypto_pwhash_MEMLIMIT_MIN || memory_kib > max_memory_kib) {
    return make_error_code(errc::invalid_argument);
  }
  auto key = derive(passphrase, sealed.data() + magic.size() + 8, iterations, memory_kib);
  if (!key) {
    return key.error();
  }
  return envelope::open(*key, sealed.subspan(header_size),
                        associated_data(sealed.first(header_size), context));
}

}  // namespace hush::crypto::passphrase
