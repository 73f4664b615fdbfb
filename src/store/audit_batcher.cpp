#include "store/audit_batcher.hpp"

#include <chrono>

#include "core/error.hpp"
#include "core/metrics.hpp"

namespace hush::store {
namespace {

// The families must exist (and be scraped as zero) before anything is counted, so they are
// statics; the allocation failure that could throw here would end the process at start anyway.
// NOLINTBEGIN(cert-err58-cpp)
metrics::histogram batch_records("hush_audit_batch_records", "Audit records per group commit.",
                                 {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096});
metrics::histogram commit_duration("hush_audit_commit_seconds",
                                   "Time one group commit of the audit took, fsync included.",
                                   {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                    1, 2.5});
// NOLINTEND(cert-err58-cpp)

}  // namespace

audit_batcher::audit_batcher(view_store& audits, std::size_t max_batch, generation_fn on_commit)
    : audits_(audits),
      max_batch_(max_batch),
      on_commit_(std::move(on_commit)),
      thread_([this] { run(); }) {}

audit_batcher::~audit_batcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void audit_batcher::submit(audit_record record, std::uint64_t as_of, callback done) {
  {
    std::lock_guard lock(mutex_);
    records_.push_back({std::move(record), as_of});
    callbacks_.push_back(std::move(done));
  }
  wake_.notify_one();
}

void audit_batcher::flush() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return records_.empty() && !committing_; });
}

void audit_batcher::run() {
  std::vector<audited_read> batch;
  std::vector<callback> waiting;
  std::vector<bool> added;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      committing_ = false;
      idle_.notify_all();
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
      committing_ = true;
      callbacks_.erase(callbacks_.begin(), callbacks_.begin() + static_cast<std::ptrdiff_t>(take));
    }
    const auto began = std::chrono::steady_clock::now();
    const auto committed = audits_.add_audits_as_of(batch, added);
    commit_duration.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    batch_records.observe(static_cast<double>(batch.size()));
    if (committed && on_commit_) {
      on_commit_(*committed);
    }
    for (std::size_t i = 0; i < waiting.size(); ++i) {
      if (!committed) {
        waiting[i](committed.error());
      } else {
        waiting[i](added[i] ? std::error_code() : make_error_code(errc::stale));
      }
    }
    batch.clear();
    waiting.clear();
  }
}

}  // namespace hush::store
