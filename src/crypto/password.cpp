#include "crypto/password.hpp"

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

}  // namespace

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
  std::lock_guard lock(dummy_mutex_);
  if (!dummy_hash_.empty()) {
    return;
  }
  auto made = hash(random_password().view());
  if (!made) {
    // Left empty, so that a later call tries again rather than serve with no dummy hash.
    throw std::runtime_error(
        "cannot make the dummy password hash (out of memory for passwords.argon2_memory_kib?)");
  }
  dummy_hash_ = std::move(*made);
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
