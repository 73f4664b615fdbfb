#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
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
  // Reads the master key anew (from its file, or unsealed again), for a long-lived keyring that
  // must follow a rotation made by another process (`hush key rotate` beside `hush serve`).
  using master_key_source = std::function<result<locked_bytes>()>;

  // Precondition: master_key.size() == envelope::key_size. With a `reload` source, a data key
  // that the master key in hand does not unwrap sends the keyring to the source once: a key
  // read there that the store's key check accepts replaces the one in hand.
  keyring(locked_bytes master_key, store::store& store, master_key_source reload = {});

  // Creates and stores a new data key, which becomes the one used for sealing. For `hush init`,
  // and later for rotation. conflict, storing nothing, if the store's key check is no longer
  // the master key in hand's (another process rotated it).
  result<std::uint32_t> add_data_key(std::int64_t now);

  // Seals under the newest data key, binding `context` (e.g. "message:42") as associated data,
  // in an envelope of `version` (which tells open's caller which context to rebuild).
  result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t> plaintext,
                                         std::string_view context,
                                         std::uint8_t version = crypto::envelope::version_1);
  // crypto_failure if the value was altered, moved to another context, or its key is unknown.
  result<secret_bytes> open(std::span<const std::uint8_t> sealed, std::string_view context);
  // open() with the data keys already in memory only: never touches the store or the master key
  // file, so it may run on an I/O thread. not_found when the key is not in memory (load_key).
  result<secret_bytes> open_loaded(std::span<const std::uint8_t> sealed, std::string_view context);
  // Unwraps the data key `id` into memory, if it is not there yet.
  result<void> load_key(std::uint32_t id);

  // Checks that the master key belongs to this club. With a key check in the store (see
  // key_check), the check decides; without one (a club made before there were key checks, or
  // one `hush init` is making), the newest data key must unwrap, and then the check is recorded
  // for next time, if the store can be written. crypto_failure for a master key of another club;
  // a storage error if the store cannot be read.
  result<void> verify_master_key();

  // Unwraps every data key into memory now, so that this keyring goes on opening what they
  // sealed after a rotation of the data key removes them from the store. crypto_failure if one
  // does not unwrap.
  result<void> load_all();

  // Master-key rotation: unwraps every data key with the master key in hand, wraps it under
  // `fresh`, and stores them all, with the new key check, in one commit (rewrap_data_keys);
  // then `fresh` is the master key in hand. conflict if a data key was added meanwhile, or if
  // the store's key check is no longer the key in hand's (another rotation committed first);
  // crypto_failure if a data key does not unwrap; nothing changes on any error.
  // Precondition: fresh.size() == envelope::key_size.
  result<void> rotate_master_key(locked_bytes fresh);

  // The id of the data key a seal uses now (the newest); not_found when there is none.
  result<std::uint32_t> sealing_key_id();

 private:
  result<const locked_bytes*> key_by_id(std::uint32_t id);
  result<locked_bytes> unwrap(const locked_bytes& master, const store::data_key_record& record);
  std::shared_ptr<const locked_bytes> master() const;
  // After a failed unwrap with `tried`: reads the master key from the source; true if it is a new
  // one that the store's key check accepts (and it is now the key in hand), or if another thread
  // replaced `tried` meanwhile. One reload at a time (reload_mutex_).
  bool reload_master_key(const std::shared_ptr<const locked_bytes>& tried);

  store::store& store_;
  master_key_source reload_;
  mutable std::mutex mutex_;
  std::mutex reload_mutex_;  // taken before mutex_, never while holding it
  // Replaced whole by a rotation or a reload; a reader holds its own reference while it works.
  std::shared_ptr<const locked_bytes> master_key_;
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

// A 32-byte secret of the club for one purpose, named by `label`, derived from the master key
// (keyed BLAKE2b): every instance with the same master key derives the same one, and it tells
// nothing of the master key or of the secrets for other labels.
locked_bytes derived_key(std::span<const std::uint8_t> master_key, std::string_view label);

// Opens every message `messages` holds with `keys` (a Fernet token's envelope too: the server
// seals it at rest), each bound to its row: the proof that a copy of a club is whole and still
// opens. How many it opened; crypto_failure at the first that does not open.
result<std::size_t> open_every_message(store::message_store& messages, keyring& keys);

}  // namespace hush::club
