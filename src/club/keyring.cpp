#include "club/keyring.hpp"

#include <sodium.h>

#include "club/message_context.hpp"
#include "core/error.hpp"
#include "crypto/sodium.hpp"

namespace hush::club {

namespace envelope = crypto::envelope;

namespace {

// The master key's own id in the envelope header; data keys count from 1.
constexpr std::uint32_t master_key_id = 0;
constexpr std::string_view key_check_label = "hush/master-key-check/v1";

static_assert(crypto_generichash_BYTES == 32);

bool storage_unwritable(std::error_code ec) {
  return ec == errc::read_only || ec == errc::disk_full;
}

}  // namespace

std::string data_key_context(std::uint32_t id) {
  return "hush/data-key/" + std::to_string(id);
}

std::array<std::uint8_t, 32> key_check(std::span<const std::uint8_t> master_key) {
  crypto::init();
  std::array<std::uint8_t, 32> out{};
  crypto_generichash(out.data(), out.size(),
                     reinterpret_cast<const unsigned char*>(key_check_label.data()),
                     key_check_label.size(), master_key.data(), master_key.size());
  return out;
}

locked_bytes derived_key(std::span<const std::uint8_t> master_key, std::string_view label) {
  crypto::init();
  locked_bytes out(32);
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(label.data()),
                     label.size(), master_key.data(), master_key.size());
  return out;
}

keyring::keyring(locked_bytes master_key, store::store& store, master_key_source reload)
    : store_(store),
      reload_(std::move(reload)),
      master_key_(std::make_shared<const locked_bytes>(std::move(master_key))) {}

std::shared_ptr<const locked_bytes> keyring::master() const {
  std::lock_guard lock(mutex_);
  return master_key_;
}

result<std::uint32_t> keyring::add_data_key(std::int64_t now) {
  locked_bytes fresh(envelope::key_size);
  randombytes_buf(fresh.data(), fresh.size());
  const auto wrapping = master();
  // Stored only if the master key it is wrapped under is still the club's when the row commits:
  // a rotation by another process since this keyring read its key would leave the new data key
  // wrapped under a key that is gone.
  const auto check = key_check(wrapping->span());
  auto id = store_.add_data_key(
      [&](std::int64_t row) -> result<std::vector<std::uint8_t>> {
        return envelope::seal(wrapping->span(), master_key_id, fresh.span(),
                              data_key_context(static_cast<std::uint32_t>(row)));
      },
      now, store::meta_guard{key_check_name, check});
  if (id) {
    std::lock_guard lock(mutex_);
    unwrapped_.try_emplace(*id, std::move(fresh));
  }
  return id;
}

result<locked_bytes> keyring::unwrap(const locked_bytes& master_key,
                                     const store::data_key_record& record) {
  if (record.wrapped.size() != envelope::overhead + envelope::key_size) {
    return make_error_code(errc::crypto_failure);
  }
  // Opened straight into locked memory: the key never passes through an ordinary buffer.
  locked_bytes key(envelope::key_size);
  if (!envelope::open_into(master_key.span(), record.wrapped, data_key_context(record.id),
                           key.writable())) {
    // The master key file does not belong to this database, or the row was altered.
    return make_error_code(errc::crypto_failure);
  }
  return key;
}

result<const locked_bytes*> keyring::key_by_id(std::uint32_t id) {
  {
    std::lock_guard lock(mutex_);
    if (auto found = unwrapped_.find(id); found != unwrapped_.end()) {
      return &found->second;
    }
  }
  auto record = store_.data_key(id);
  if (!record) {
    return record.error() == errc::not_found ? make_error_code(errc::crypto_failure)
                                             : record.error();
  }
  const auto tried = master();
  auto key = unwrap(*tried, *record);
  if (!key && key.error() == errc::crypto_failure && reload_master_key(tried)) {
    // Another process rotated the master key since this one was read.
    key = unwrap(*master(), *record);
  }
  if (!key) {
    return key.error();
  }
  std::lock_guard lock(mutex_);
  // Two threads may unwrap the same key at once; the first one kept wins.
  return &unwrapped_.try_emplace(id, std::move(*key)).first->second;
}

result<std::vector<std::uint8_t>> keyring::seal(std::span<const std::uint8_t> plaintext,
                                                std::string_view context, std::uint8_t version) {
  auto record = store_.newest_data_key();
  if (!record) {
    return record.error();
  }
  auto key = key_by_id(record->id);
  if (!key) {
    return key.error();
  }
  return envelope::seal((*key)->span(), record->id, plaintext, context, version);
}

result<secret_bytes> keyring::open(std::span<const std::uint8_t> sealed, std::string_view context) {
  auto id = envelope::key_id(sealed);
  if (!id) {
    return id.error();
  }
  auto key = key_by_id(*id);
  if (!key) {
    return key.error();
  }
  return envelope::open((*key)->span(), sealed, context);
}

result<secret_bytes> keyring::open_loaded(std::span<const std::uint8_t> sealed,
                                          std::string_view context) {
  auto id = envelope::key_id(sealed);
  if (!id) {
    return id.error();
  }
  const locked_bytes* key = nullptr;
  {
    std::lock_guard lock(mutex_);
    const auto found = unwrapped_.find(*id);
    if (found == unwrapped_.end()) {
      return make_error_code(errc::not_found);
    }
    // A key once unwrapped stays where it is for the keyring's life (key_by_id relies on it too).
    key = &found->second;
  }
  return envelope::open(key->span(), sealed, context);
}

result<void> keyring::load_key(std::uint32_t id) {
  if (auto key = key_by_id(id); !key) {
    return key.error();
  }
  return {};
}

bool keyring::reload_master_key(const std::shared_ptr<const locked_bytes>& tried) {
  if (!reload_) {
    return false;
  }
  // One reload at a time (each may unseal: Argon2id, 256 MiB); a thread that waited here while
  // another replaced the key it failed with tries the new key rather than reloading again.
  const std::lock_guard reloading(reload_mutex_);
  if (master() != tried) {
    return true;
  }
  auto fresh = reload_();
  if (!fresh || fresh->size() != envelope::key_size) {
    return false;
  }
  auto stored = store_.club_meta(key_check_name);
  if (!stored ||
      !constant_time_equal(std::span<const std::uint8_t>(*stored), key_check(fresh->span()))) {
    return false;
  }
  std::lock_guard lock(mutex_);
  if (constant_time_equal(master_key_->span(), fresh->span())) {
    return false;  // the key in hand already: the failure has another cause
  }
  master_key_ = std::make_shared<const locked_bytes>(std::move(*fresh));
  return true;
}

result<void> keyring::load_all() {
  auto keys = store_.list_data_keys();
  if (!keys) {
    return keys.error();
  }
  for (const auto& record : *keys) {
    if (auto key = key_by_id(record.id); !key) {
      return key.error();
    }
  }
  return {};
}

result<void> keyring::rotate_master_key(locked_bytes fresh) {
  auto keys = store_.list_data_keys();
  if (!keys) {
    return keys.error();
  }
  const auto old = master();
  for (auto& record : *keys) {
    auto key = unwrap(*old, record);
    if (!key) {
      return key.error();
    }
    record.wrapped =
        envelope::seal(fresh.span(), master_key_id, key->span(), data_key_context(record.id));
  }
  const auto check = key_check(fresh.span());
  // The keys were unwrapped outside the store's write transaction: the store commits only if the
  // check is still the old key's (compare and swap), so that two rotations at once cannot both
  // commit, the second over keys the first already rewrapped.
  const auto old_check = key_check(old->span());
  if (auto stored = store_.rewrap_data_keys(*keys, key_check_name, old_check, check); !stored) {
    return stored;
  }
  std::lock_guard lock(mutex_);
  master_key_ = std::make_shared<const locked_bytes>(std::move(fresh));
  return {};
}

result<std::uint32_t> keyring::sealing_key_id() {
  auto newest = store_.newest_data_key();
  if (!newest) {
    return newest.error();
  }
  return newest->id;
}

result<void> keyring::verify_master_key() {
  const auto expected = key_check(master()->span());
  auto stored = store_.club_meta(key_check_name);
  if (stored) {
    if (!constant_time_equal(std::span<const std::uint8_t>(*stored), expected)) {
      return make_error_code(errc::crypto_failure);
    }
    return {};
  }
  if (stored.error() != errc::not_found) {
    return stored.error();
  }
  // No check yet. A club with data keys proves the master key by unwrapping the newest; a club
  // without any is the one `hush init` is making, and this key is its key.
  auto newest = store_.newest_data_key();
  if (newest) {
    if (auto key = key_by_id(newest->id); !key) {
      return key.error();
    }
  } else if (newest.error() != errc::not_found) {
    return newest.error();
  }
  if (auto recorded = store_.set_club_meta_once(key_check_name, expected); !recorded) {
    // A read-only or full disk must not stop a read: the check is recorded on a later open.
    return storage_unwritable(recorded.error()) ? result<void>() : recorded;
  }
  // Another process may have recorded a check first: the one stored is the one that counts.
  stored = store_.club_meta(key_check_name);
  if (!stored) {
    return stored.error();
  }
  if (!constant_time_equal(std::span<const std::uint8_t>(*stored), expected)) {
    return make_error_code(errc::crypto_failure);
  }
  return {};
}

result<std::size_t> open_every_message(store::message_store& messages, keyring& keys) {
  constexpr std::size_t page = 1000;
  std::size_t opened = 0;
  std::optional<store::message_id> after;
  for (;;) {
    auto rows = messages.sealed_messages(after, page);
    if (!rows) {
      return rows.error();
    }
    for (const auto& row : *rows) {
      if (auto body = keys.open(row.sealed, message_context(row)); !body) {
        return body.error();
      }
      ++opened;
    }
    if (rows->size() < page) {
      return opened;
    }
    after = rows->back().id;
  }
}

}  // namespace hush::club
