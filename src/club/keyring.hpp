#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "core/locked.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"
#include "crypto/envelope.hpp"
#include "store/store.hpp"

namespace hush::club {

// Envelope encryption for values at rest. Each value is sealed under a data key; data keys are kept
// in the store only wrapped (sealed) under the master key, which lives in a file outside the
// database. A stolen database alone opens nothing. Thread safe: unwrapped data keys are cached in
// memory behind a mutex. The master key and the unwrapped data keys live in locked_bytes (out of
// core dumps and swap, zeroed when freed), and are never copied out of them.
class keyring {
 public:
  // Precondition: master_key.size() == envelope::key_size.
  keyring(locked_bytes master_key, store::store& store);

  // Creates and stores a new data key, which becomes the one used for sealing. For `hush init`,
  // and later for rotation.
  result<std::uint32_t> add_data_key(std::int64_t now);

  // Seals under the newest data key, binding `context` (e.g. "message:42") as associated data,
  // in an envelope of `version` (which tells open's caller which context to rebuild).
  result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t> plaintext,
                                         std::string_view context,
                                         std::uint8_t version = crypto::envelope::version_1);
  // crypto_failure if the value was altered, moved to another context, or its key is unknown.
  result<secret_bytes> open(std::span<const std::uint8_t> sealed, std::string_view context);

  // Checks that the master key belongs to this club. With a key check in the store (see
  // key_check), the check decides; without one (a club made before there were key checks, or
  // one `hush init` is making), the newest data key must unwrap, and then the check is recorded
  // for next time, if the store can be written. crypto_failure for a master key of another club;
  // a storage error if the store cannot be read.
  result<void> verify_master_key();

 private:
  result<const locked_bytes*> key_by_id(std::uint32_t id);
  result<locked_bytes> unwrap(const store::data_key_record& record);

  locked_bytes master_key_;
  store::store& store_;
  std::mutex mutex_;
  // Never erased, and std::map never moves its nodes: a pointer to a key stays valid for the
  // keyring's life, so the crypto runs without the mutex.
  std::map<std::uint32_t, locked_bytes> unwrapped_;
};

// Associated data for the data key `id` wrapped under the master key.
std::string data_key_context(std::uint32_t id);

// The club's key check: BLAKE2b-256 keyed with the master key over a fixed label. It proves
// which master key a club was made with, and reveals nothing about the key.
inline constexpr std::string_view key_check_name = "key_check";
std::array<std::uint8_t, 32> key_check(std::span<const std::uint8_t> master_key);

}  // namespace hush::club
