#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/secret.hpp"
#include "store/store.hpp"

namespace hush::club {

// Envelope encryption for values at rest. Each value is sealed under a data key; data keys are kept
// in the store only wrapped (sealed) under the master key, which lives in a file outside the
// database. A stolen database alone opens nothing. Thread safe: unwrapped data keys are cached in
// memory (zeroed on destruction) behind a mutex.
class keyring {
 public:
  // Precondition: master_key.size() == envelope::key_size.
  keyring(secret_bytes master_key, store::store& store);

  // Creates and stores a new data key, which becomes the one used for sealing. For `hush init`,
  // and later for rotation.
  result<std::uint32_t> add_data_key(std::int64_t now);

  // Seals under the newest data key, binding `context` (e.g. "message:42") as associated data.
  result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t> plaintext,
                                         std::string_view context);
  // crypto_failure if the value was altered, moved to another context, or its key is unknown.
  result<secret_bytes> open(std::span<const std::uint8_t> sealed, std::string_view context);

 private:
  result<std::pair<std::uint32_t, secret_bytes>> newest_key();
  result<secret_bytes> key_by_id(std::uint32_t id);
  result<secret_bytes> unwrap(const store::data_key_record& record);

  secret_bytes master_key_;
  store::store& store_;
  std::mutex mutex_;
  std::map<std::uint32_t, secret_bytes> unwrapped_;
};

// Associated data for the data key `id` wrapped under the master key.
std::string data_key_context(std::uint32_t id);

}  // namespace hush::club
