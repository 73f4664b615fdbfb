#include "store/audit_batcher.hpp"

namespace hush::store {

audit_batcher::audit_batcher(audit_store& audits, std::size_t max_batch)
    : audits_(audits), max_batch_(max_batch), thread_([this] { run(); }) {}

audit_batcher::~audit_batcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void audit_batcher::submit(audit_record record, callback done) {
  {
    std::lock_guard lock(mutex_);
    records_.push_back(std::move(record));
    callbacks_.push_back(std::move(done));
  }
  wake_.notify_one();
}

void audit_batcher::run() {
  std::vector<audit_record> batch;
  std::vector<callback> waiting;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !records_.empty(); });
      if (records_.empty()) {
        return;  // stopping, and everything submitted has been committed
      }
      // Bounded, so that one transaction never grows without end under a flood.
      const auto take = std::min(records_.size(), max_batch_);
      batch.assign(std::make_move_iterator(records_.begin()),
                   std::make_move_iterator(records_.begin() + static_cast<std::ptrdiff_t>(take)));
      waiting.assign(
          std::make_move_iterator(callbacks_.begin()),
          std::make_move_iterator(callbacks_.begin() + static_cast<std::ptrdiff_t>(take)));
      records_.erase(records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(take));
      callbacks_.erase(callbacks_.begin(), callbacks_.begin() + static_cast<std::ptrdiff_t>(take));
    }
    const auto committed = audits_.add_audits(batch);
    const std::error_code ec = committed ? std::error_code() : committed.error();
    for (auto& done : waiting) {
      done(ec);
    }
    batch.clear();
    waiting.clear();
  }
}

}  // namespace hush::store
