#include "app/housekeeping.hpp"

#include <string>

#include "core/error.hpp"
#include "core/log.hpp"

namespace hush::app {

void audit_pruner::tick(const std::stop_token& stop) {
  const auto now = std::chrono::steady_clock::now();
  if (keep_days_ == 0 || (started_ && now < next_)) {
    return;
  }
  started_ = true;
  next_ = now + prune_interval;
  std::size_t total = 0;
  for (std::size_t batches = 0; batches < max_batches && !stop.stop_requested(); ++batches) {
    auto pruned = domain_.prune_audit(keep_days_, batch_size);
    if (!pruned) {
      log::warn("audit retention: " + pruned.error().message());
      return;
    }
    total += *pruned;
    if (*pruned < batch_size) {
      break;
    }
  }
  if (total > 0) {
    log::info("audit retention: pruned " + std::to_string(total) + " records older than " +
              std::to_string(keep_days_) + " days");
  }
}

void message_sweeper::tick(const std::stop_token& stop) {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_) {
    return;
  }
  next_ = now + sweep_interval;
  std::size_t total = 0;
  for (std::size_t batches = 0; batches < max_batches && !stop.stop_requested(); ++batches) {
    auto swept = domain_.sweep_expired(batch_size);
    if (!swept && swept.error() == errc::not_wiped) {
      // Gone for every query; the bytes go at the next removal or when the store closes.
      failures_.write(log::level::warn,
                      "expired messages: removed, but a copy may remain until the next removal");
      break;
    }
    if (!swept) {
      failures_.write(log::level::warn, "expired messages: " + swept.error().message());
      return;
    }
    total += *swept;
    if (*swept < batch_size) {
      break;
    }
  }
  if (total > 0) {
    log::info("expired messages: removed and wiped " + std::to_string(total));
  }
}

}  // namespace hush::app
