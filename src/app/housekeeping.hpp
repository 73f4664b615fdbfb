#pragma once

#include <chrono>
#include <cstddef>
#include <stop_token>

#include "club/club.hpp"
#include "core/log.hpp"

namespace hush::app {

// Chores the server's housekeeping thread runs between its other work; each tick() is called
// about once a second and returns soon: the work goes in small batches, each its own short
// transaction, so readers' audit commits and reads never wait long behind it.

// Audit retention: records older than audit.keep_days, every ten minutes.
class audit_pruner {
 public:
  audit_pruner(club::club& domain, unsigned keep_days) : domain_(domain), keep_days_(keep_days) {}

  // Prunes at the first call and then every prune_interval.
  void tick(const std::stop_token& stop);

 private:
  static constexpr std::size_t batch_size = 1000;
  // At most this many batches a round; the rest waits for the next round.
  static constexpr std::size_t max_batches = 1000;
  static constexpr auto prune_interval = std::chrono::minutes(10);

  club::club& domain_;
  unsigned keep_days_;
  bool started_ = false;
  std::chrono::steady_clock::time_point next_{};
};

// The expired messages' sweeper: removes and wipes them (club::sweep_expired), so that an
// expired message's sealed body does not stay on disk. Reads never serve one even before the
// sweep (the store checks expiry at every read); the sweep is about the bytes. Every
// sweep_interval, at most max_batches batches a round.
class message_sweeper {
 public:
  explicit message_sweeper(club::club& domain) : domain_(domain) {}

  void tick(const std::stop_token& stop);

  static constexpr auto sweep_interval = std::chrono::seconds(2);

 private:
  static constexpr std::size_t batch_size = 100;
  static constexpr std::size_t max_batches = 50;

  club::club& domain_;
  std::chrono::steady_clock::time_point next_{};
  // A store that fails keeps failing every round: one line a minute, with the count held back.
  log::rate_limited failures_{std::chrono::minutes(1)};
};

}  // namespace hush::app
