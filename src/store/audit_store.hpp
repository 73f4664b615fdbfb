#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/result.hpp"
#include "store/records.hpp"

namespace hush::store {

// The audit trail: who read which message, when, from where. Records name members and messages
// by value, so they outlive both.
// Thread safety, atomicity and errors: as every store interface (store.hpp).
class audit_store {
 public:
  virtual ~audit_store() = default;

  virtual result<void> add_audit(const audit_record& record) = 0;
  // All of them or none, in one durable commit: one commit for many reads (group commit). None
  // at all is a success.
  virtual result<void> add_audits(std::span<const audit_record> records) = 0;
  // The last `limit` records added, in the order they were added.
  virtual result<std::vector<audit_record>> list_audit(std::size_t limit) = 0;
  // Read receipts: at most `limit` records of reads of message `id`, oldest (first added)
  // first. An index on the message keeps it cheap however long the trail.
  virtual result<std::vector<audit_record>> reads_of(message_id id, std::size_t limit) = 0;
  // Deletes at most `limit` records whose `at` is before `before`, smallest `at` first, and
  // returns how many. Callers loop while it returns `limit`, so each call stays short and
  // writers never wait long.
  virtual result<std::size_t> prune_audit(std::int64_t before, std::size_t limit) = 0;
};

}  // namespace hush::store
