#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace hush::crypto {

// Argon2id cost. memory_kib and iterations go into every PHC string, so a change of config
// applies to new hashes and, through needs_rehash, to old ones at their next login.
struct argon2_params {
  std::uint64_t iterations = 2;
  std::uint64_t memory_kib = 64 * 1024;

  bool operator==(const argon2_params&) const = default;
};

// An Argon2id hash string as libsodium writes and reads it ($argon2id$v=19$m=..,t=..,p=1$SALT$HASH,
// unpadded base64), for the parameters, salt and hash bytes given.
// The hash bytes crypto_pwhash_str writes into its strings (libsodium's own STR_HASHBYTES, not
// exported).
constexpr std::size_t argon2id_phc_hash_bytes = 32;
std::string argon2id_phc(const argon2_params& params, std::span<const std::uint8_t> salt,
                         std::span<const std::uint8_t> digest);

// The limits config accepts: below them a hash is too cheap to guess against; above them one
// verification would starve the server. Each setting alone must lie within these; together they
// must also meet argon2_floor_memory_kib.
inline constexpr std::uint64_t argon2_min_iterations = 1;
inline constexpr std::uint64_t argon2_max_iterations = 16;
inline constexpr std::uint64_t argon2_min_memory_kib = 7 * 1024;
inline constexpr std::uint64_t argon2_max_memory_kib = 4 * 1024 * 1024;

// The least memory that makes `iterations` passes as costly as OWASP's Password Storage Cheat
// Sheet asks of Argon2id (46 MiB x1, 19 MiB x2, 12 MiB x3, 9 MiB x4, 7 MiB x5 or more).
constexpr std::uint64_t argon2_floor_memory_kib(std::uint64_t iterations) noexcept {
  if (iterations <= 1) {
    return 46 * 1024;
  }
  if (iterations == 2) {
    return 19 * 1024;
  }
  if (iterations == 3) {
    return 12 * 1024;
  }
  if (iterations == 4) {
    return 9 * 1024;
  }
  return 7 * 1024;
}

// Hashes and verifies passwords with Argon2id (libsodium), as PHC strings
// ("$argon2id$v=19$m=65536,t=2,p=1$salt$hash"). Thread safe; every call is CPU- and memory-heavy
// by design, so call it off the I/O threads.
class password_hasher {
 public:
  explicit password_hasher(argon2_params params) : params_(params) {}

  const argon2_params& params() const noexcept { return params_; }

  // A fresh salted hash; crypto_failure if memory cannot be had.
  result<std::string> hash(std::string_view password) const;

  // True if the password matches; false for a mismatch or a malformed hash.
  bool verify(std::string_view phc, std::string_view password) const;

  // Spends the same time as verify() against a hash of the current parameters and returns false:
  // an unknown member costs what a wrong password costs, so timing tells nothing.
  bool verify_nobody(std::string_view password) const;

  // Makes the dummy hash verify_nobody() uses, so that the first unknown name does not pay for it
  // (which would make the first such answer slower than a wrong password's). Call at startup;
  // cheap (no Argon2id run); throws std::runtime_error if it cannot be made, since without it
  // unknown names would answer faster than wrong passwords.
  void prepare() const;
  // The hash verify_nobody() verifies against; empty before prepare(). For tests.
  std::string dummy_hash() const;

  // True if the hash was made with other parameters (or another algorithm) than the current ones.
  bool needs_rehash(std::string_view phc) const;

 private:
  argon2_params params_;
  // Not std::call_once: an exception through it leaves the flag stuck under some runtimes
  // (ThreadSanitizer's), and prepare() may throw.
  mutable std::mutex dummy_mutex_;
  mutable std::string dummy_hash_;
};

}  // namespace hush::crypto
