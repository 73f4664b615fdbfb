#include "crypto/password.hpp"

#include <array>
#include <cstring>
#include <stdexcept>

#include <sodium.h>

#include "core/error.hpp"
#include "crypto/random.hpp"
#include "crypto/sodium.hpp"

namespace hush::crypto {
namespace {

std::size_t memory_bytes(const argon2_params& params) {
  return static_cast<std::size_t>(params.memory_kib) * 1024U;
}

std::string base64_unpadded(std::span<const std::uint8_t> bytes) {
  std::string out(
      sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

}  // namespace

std::string argon2id_phc(const argon2_params& params, std::span<const std::uint8_t> salt,
                         std::span<const std::uint8_t> digest) {
  std::string phc = "$argon2id$v=19$m=";
  phc += std::to_string(params.memory_kib);
  phc += ",t=";
  phc += std::to_string(params.iterations);
  phc += ",p=1$";
  phc += base64_unpadded(salt);
  phc += '$';
  phc += base64_unpadded(digest);
  return phc;
}

result<std::string> password_hasher::hash(std::string_view password) const {
  init();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params_.iterations,
                            memory_bytes(params_), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error_code(errc::crypto_failure);
  }
  return std::string(out);
}

bool password_hasher::verify(std::string_view phc, std::string_view password) const {
  init();
  // libsodium wants a NUL-terminated string of bounded length.
  if (phc.size() >= crypto_pwhash_STRBYTES) {
    return false;
  }
  const std::string terminated(phc);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

void password_hasher::prepare() const {
  init();
  std::lock_guard lock(dummy_mutex_);
  if (!dummy_hash_.empty()) {
    return;
  }
  // Random bytes where the hash would be: verifying against it runs Argon2id with the current
  // parameters and this salt, as against a member's hash, and no password matches (that would
  // take a preimage of 32 random bytes). Made without running Argon2id itself, which held up
  // every start of the server by one hash (130 ms at the defaults; bench/run's cold start).
  std::array<std::uint8_t, crypto_pwhash_SALTBYTES> salt{};
  std::array<std::uint8_t, argon2id_phc_hash_bytes> digest{};
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(digest.data(), digest.size());
  auto made = argon2id_phc(params_, salt, digest);
  if (made.size() >= crypto_pwhash_STRBYTES) {
    throw std::runtime_error("the dummy password hash does not fit libsodium's hash string");
  }
  dummy_hash_ = std::move(made);
}

std::string password_hasher::dummy_hash() const {
  std::lock_guard lock(dummy_mutex_);
  return dummy_hash_;
}

bool password_hasher::verify_nobody(std::string_view password) const {
  try {
    prepare();
  } catch (const std::exception&) {
    // Still spend a hash's time: an empty hash would answer at once and name the unknown.
    static_cast<void>(hash(password));
    return false;
  }
  verify(dummy_hash_, password);
  return false;
}

bool password_hasher::needs_rehash(std::string_view phc) const {
  init();
  if (phc.size() >= crypto_pwhash_STRBYTES) {
    return true;
  }
  const std::string terminated(phc);
  if (terminated.rfind("$argon2id$", 0) != 0) {
    return true;
  }
  return crypto_pwhash_str_needs_rehash(terminated.c_str(), params_.iterations,
                                        memory_bytes(params_)) != 0;
}

}  // namespace hush::crypto
