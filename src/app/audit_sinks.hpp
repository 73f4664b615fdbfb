#pragma once

#include "club/audit.hpp"
#include "store/audit_batcher.hpp"
#include "store/audit_store.hpp"

namespace hush::app {

// The CLI's sink: each record is committed at once, and `done` runs before submit returns.
class direct_audit_sink final : public club::audit_sink {
 public:
  explicit direct_audit_sink(store::audit_store& audits) : audits_(audits) {}

  void submit(store::audit_record record, done_fn done) override {
    const auto added = audits_.add_audit(record);
    done(added ? std::error_code() : added.error());
  }

 private:
  store::audit_store& audits_;
};

// The server's sink: group commit (store::audit_batcher), `done` on the batcher's thread once the
// batch holding the record is durable. Destroying it commits what is pending first.
class batched_audit_sink final : public club::audit_sink {
 public:
  explicit batched_audit_sink(store::audit_store& audits) : batcher_(audits) {}

  void submit(store::audit_record record, done_fn done) override {
    batcher_.submit(std::move(record), std::move(done));
  }

 private:
  store::audit_batcher batcher_;
};

}  // namespace hush::app
