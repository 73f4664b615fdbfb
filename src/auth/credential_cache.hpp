#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/locked.hpp"
#include "core/secret.hpp"

namespace hush::auth {

// Remembers, for a short while, that a name and password were verified, so that a member's
// repeated requests do not each cost an Argon2id run. What is kept is a keyed BLAKE2b hash of the
// name and password under a random key that lives only in this process's memory, never the
// password: a memory dump yields hashes that cannot be checked offline without the key, and the
// key dies with the process. Each entry also keeps the stored password hash it was verified
// against, so that the caller can see a password change at once. Thread safe.
class credential_cache {
 public:
  using clock = std::chrono::steady_clock;

  // A lifetime of zero disables the cache.
  explicit credential_cache(std::chrono::seconds lifetime, std::size_t max_entries = 10'000);

  // The stored password hash that `name`/`password` was verified against, if it was within the
  // lifetime.
  std::optional<std::string> find(std::string_view name, std::string_view password,
                                  clock::time_point now);
  void insert(std::string_view name, std::string_view password, std::string stored_hash,
              clock::time_point now);

 private:
  using digest = std::array<std::uint8_t, 32>;
  struct digest_hash {
    std::size_t operator()(const digest& d) const noexcept;
  };
  struct entry {
    std::string name;
    std::string stored_hash;
    clock::time_point expires;
  };

  digest key_of(std::string_view name, std::string_view password) const;

  std::chrono::seconds lifetime_;
  std::size_t max_entries_;
  locked_bytes mac_key_;
  std::mutex mutex_;
  std::unordered_map<digest, entry, digest_hash> entries_;
};

}  // namespace hush::auth
