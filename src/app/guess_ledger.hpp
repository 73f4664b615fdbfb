#pragma once

#include <array>
#include <chrono>
#include <string>

#include <sodium.h>

#include "auth/throttle.hpp"
#include "core/locked.hpp"
#include "store/guess_store.hpp"

namespace hush::app {

// The throttle's failure ledger on the store that several servers share: auth names what it
// needs, the store keeps it, and only the composition root sees both. The store never sees a
// key as it is: a key holds the name that was tried, which may be a password or an API token
// typed into the name field, and the client's address. It keeps a keyed BLAKE2b-256 of each
// (hex), under a key every instance derives from the club's master key (club::derived_key), so
// that every instance counts under the same name and a copy of the database tells nothing.
class guess_ledger final : public auth::failure_ledger {
 public:
  // The label of the key, for club::derived_key.
  static constexpr std::string_view key_label = "hush/throttle-keys/v1";

  guess_ledger(store::guess_store& guesses, locked_bytes key)
      : guesses_(guesses), key_(std::move(key)) {}

  result<counts> failures(const std::string& member_key, const std::string& address_key) override {
    return counts_of(guesses_.guess_counts(hashed(member_key), hashed(address_key)));
  }
  result<counts> add_failure(const std::string& member_key, const std::string& address_key,
                             std::chrono::seconds afresh) override {
    return counts_of(
        guesses_.add_guess_failures(hashed(member_key), hashed(address_key), afresh.count()));
  }
  result<void> forgive(const std::string& member_key, const std::string& address_key) override {
    return guesses_.forgive_guess(hashed(member_key), hashed(address_key));
  }

 private:
  std::string hashed(const std::string& key) const {
    std::array<unsigned char, crypto_generichash_BYTES> digest{};
    crypto_generichash(digest.data(), digest.size(),
                       reinterpret_cast<const unsigned char*>(key.data()), key.size(), key_.data(),
                       key_.size());
    std::string hex(digest.size() * 2, '\0');
    sodium_bin2hex(hex.data(), hex.size() + 1, digest.data(), digest.size());
    return hex;
  }

  static result<counts> counts_of(const result<std::array<store::guess_count, 2>>& stored) {
    if (!stored) {
      return stored.error();
    }
    counts out;
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = seen{(*stored)[i].failures, std::chrono::seconds{(*stored)[i].quiet_seconds}};
    }
    return out;
  }

  store::guess_store& guesses_;
  locked_bytes key_;
};

}  // namespace hush::app
