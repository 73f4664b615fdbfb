#pragma once

#include <span>
#include <vector>

#include "club/audit.hpp"
#include "club/read_view.hpp"
#include "core/error.hpp"
#include "store/audit_batcher.hpp"
#include "store/audit_store.hpp"

namespace hush::app {

// The CLI's sink: each record is committed at once, and `done` runs before submit returns.
class direct_audit_sink final : public club::audit_sink {
 public:
  explicit direct_audit_sink(store::view_store& audits) : audits_(audits) {}

  void submit(store::audit_record record, std::uint64_t as_of, done_fn done) override {
    std::vector<bool> added;
    const store::audited_read read{std::move(record), as_of};
    const auto committed = audits_.add_audits_as_of(std::span(&read, 1), added);
    if (!committed) {
      done(committed.error());
      return;
    }
    done(added.front() ? std::error_code() : make_error_code(errc::stale));
  }

 private:
  store::view_store& audits_;
};

// The server's sink: group commit (store::audit_batcher), `done` on the batcher's thread once the
// batch holding the record is durable. Destroying it commits what is pending first. Each commit
// tells `views` the store's generation, so that a view a change overtook stops being served.
class batched_audit_sink final : public club::audit_sink {
 public:
  batched_audit_sink(store::view_store& audits, club::read_views* views)
      : batcher_(audits, 4096, [views](std::uint64_t generation) {
          if (views != nullptr) {
            views->saw(generation);
          }
        }) {}

  void submit(store::audit_record record, std::uint64_t as_of, done_fn done) override {
    batcher_.submit(std::move(record), as_of, std::move(done));
  }
  void flush() override { batcher_.flush(); }

 private:
  store::audit_batcher batcher_;
};

}  // namespace hush::app
