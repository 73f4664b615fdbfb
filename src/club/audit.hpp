#pragma once

#include <cstdint>
#include <functional>
#include <system_error>
#include <utility>

#include "store/records.hpp"

namespace hush::club {

class club;

// The audit record a read owes before its body may be shown. Only a read (club::read,
// club::read_newest) makes one, and the only way to commit it is club::commit_read, through the
// club's audit sink: one commit path, whichever door the read came through.
class owed_audit {
 public:
  const store::audit_record& record() const noexcept { return record_; }
  // The generation of the read_view the read was served from; 0 when it was served from the
  // store. The commit checks it (store::view_store::add_audits_as_of).
  std::uint64_t as_of() const noexcept { return as_of_; }

 private:
  friend class club;
  explicit owed_audit(store::audit_record record, std::uint64_t as_of = 0)
      : record_(std::move(record)), as_of_(as_of) {}

  store::audit_record record_;
  std::uint64_t as_of_ = 0;
};

// Where audit records go. The CLI's sink commits each at once (app::direct_audit_sink); the
// server's commits in batches, one durable transaction for every record that arrived meanwhile
// (app::batched_audit_sink over store::audit_batcher).
class audit_sink {
 public:
  using done_fn = std::function<void(std::error_code)>;
  virtual ~audit_sink() = default;

  // `done` runs once the record is durable, or with the reason it is not, maybe on another
  // thread: `stale` when the read was served from a view (as_of, not 0) that a change overtook,
  // and nothing was written. Thread safe.
  virtual void submit(store::audit_record record, std::uint64_t as_of, done_fn done) = 0;
  // Returns once every record submitted before it is committed and its `done` has run.
  virtual void flush() {}
};

}  // namespace hush::club
