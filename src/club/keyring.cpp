#include "club/keyring.hpp"

#include "core/error.hpp"
#include "crypto/envelope.hpp"
#include "crypto/random.hpp"

namespace hush::club {

using crypto::random_bytes;
namespace envelope = crypto::envelope;

namespace {

// The master key's own id in the envelope header; data keys count from 1.
constexpr std::uint32_t master_key_id = 0;

}  // namespace

std::string data_key_context(std::uint32_t id) {
  return "hush/data-key/" + std::to_string(id);
}

keyring::keyring(secret_bytes master_key, store::store& store)
    : master_key_(std::move(master_key)), store_(store) {}

result<std::uint32_t> keyring::add_data_key(std::int64_t now) {
  auto fresh = random_bytes(envelope::key_size);
  return store_.add_data_key(
      [&](std::int64_t id) -> result<std::vector<std::uint8_t>> {
        return envelope::seal(master_key_, master_key_id, fresh.span(),
                              data_key_context(static_cast<std::uint32_t>(id)));
      },
      now);
}

result<secret_bytes> keyring::unwrap(const store::data_key_record& record) {
  auto key = envelope::open(master_key_, record.wrapped, data_key_context(record.id));
  if (!key || key->size() != envelope::key_size) {
    // The master key file does not belong to this database, or the row was altered.
    return make_error_code(errc::crypto_failure);
  }
  return key;
}

result<secret_bytes> keyring::key_by_id(std::uint32_t id) {
  {
    std::lock_guard lock(mutex_);
    if (auto found = unwrapped_.find(id); found != unwrapped_.end()) {
      return found->second;
    }
  }
  auto record = store_.data_key(id);
  if (!record) {
    return record.error() == errc::not_found ? make_error_code(errc::crypto_failure)
                                             : record.error();
  }
  auto key = unwrap(*record);
  if (!key) {
    return key.error();
  }
  std::lock_guard lock(mutex_);
  unwrapped_.insert_or_assign(id, *key);
  return key;
}

result<std::pair<std::uint32_t, secret_bytes>> keyring::newest_key() {
  auto record = store_.newest_data_key();
  if (!record) {
    return record.error();
  }
  auto key = key_by_id(record->id);
  if (!key) {
    return key.error();
  }
  return std::pair{record->id, std::move(*key)};
}

result<std::vector<std::uint8_t>> keyring::seal(std::span<const std::uint8_t> plaintext,
                                                std::string_view context) {
  auto key = newest_key();
  if (!key) {
    return key.error();
  }
  return envelope::seal(key->second, key->first, plaintext, context);
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
  return envelope::open(*key, sealed, context);
}

}  // namespace hush::club
