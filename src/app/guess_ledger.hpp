#pragma once

#include <chrono>
#include <string>

#include "auth/throttle.hpp"
#include "store/guess_store.hpp"

namespace hush::app {

// The throttle's failure ledger on the store that several servers share: auth names what it
// needs, the store keeps it, and only the composition root sees both.
class guess_ledger final : public auth::failure_ledger {
 public:
  explicit guess_ledger(store::guess_store& guesses) : guesses_(guesses) {}

  result<counts> failures(const std::string& member_key, const std::string& address_key) override {
    return counts_of(guesses_.guess_counts(member_key, address_key));
  }
  result<counts> add_failure(const std::string& member_key, const std::string& address_key,
                             std::chrono::seconds afresh) override {
    return counts_of(guesses_.add_guess_failures(member_key, address_key, afresh.count()));
  }
  result<void> forget(const std::string& member_key) override {
    return guesses_.forget_guesses(member_key);
  }

 private:
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
};

}  // namespace hush::app
