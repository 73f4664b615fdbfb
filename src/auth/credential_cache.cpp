#include "auth/credential_cache.hpp"

#include <cstring>

#include <sodium.h>

#include "crypto/sodium.hpp"

namespace hush::auth {

credential_cache::credential_cache(std::chrono::seconds lifetime, std::size_t max_entries)
    : lifetime_(lifetime), max_entries_(max_entries), mac_key_(crypto_generichash_KEYBYTES) {
  // Made in place in guarded memory (out of core dumps, locked): never in an ordinary buffer.
  crypto::init();
  randombytes_buf(mac_key_.data(), mac_key_.size());
}

std::size_t credential_cache::digest_hash::operator()(const digest& d) const noexcept {
  // The digest is already uniformly random: its first bytes are a fine bucket index.
  std::size_t out = 0;
  std::memcpy(&out, d.data(), sizeof out);
  return out;
}

credential_cache::digest credential_cache::key_of(std::string_view name,
                                                  std::string_view password) const {
  crypto_generichash_state state;
  crypto_generichash_init(&state, mac_key_.data(), mac_key_.size(), sizeof(digest));
  // Length-prefixed, so that ("ab", "c") and ("a", "bc") never collide.
  const std::uint64_t name_size = name.size();
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(&name_size),
                            sizeof name_size);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(name.data()),
                            name.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(password.data()),
                            password.size());
  digest out{};
  crypto_generichash_final(&state, out.data(), out.size());
  sodium_memzero(&state, sizeof state);
  return out;
}

std::optional<std::string> credential_cache::find(std::string_view name, std::string_view password,
                                                  clock::time_point now) {
  if (lifetime_.count() == 0) {
    return std::nullopt;
  }
  const auto key = key_of(name, password);
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(key);
  if (found == entries_.end()) {
    return std::nullopt;
  }
  if (now >= found->second.expires || found->second.name != name) {
    entries_.erase(found);
    return std::nullopt;
  }
  return found->second.stored_hash;
}

void credential_cache::insert(std::string_view name, std::string_view password,
                              std::string stored_hash, clock::time_point now) {
  if (lifetime_.count() == 0) {
    return;
  }
  const auto key = key_of(name, password);
  std::lock_guard lock(mutex_);
  if (entries_.size() >= max_entries_) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = now >= it->second.expires ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= max_entries_) {
      // Still full of live entries: start again empty rather than grow. Members pay one more
      // Argon2id run each, which is the cost without a cache.
      entries_.clear();
    }
  }
  entries_.insert_or_assign(key, entry{std::string(name), std::move(stored_hash), now + lifetime_});
}

}  // namespace hush::auth
