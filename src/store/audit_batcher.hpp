#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "store/view_store.hpp"

namespace hush::store {

// Group commit for the audit trail. Reads are audited before their body is sent, and each commit
// is durable (an fsync), so one commit per read would cap the server at the disk's fsync rate.
// Instead, records arriving while a commit is under way wait for the next one, which takes them
// all in one transaction. Each submitter is called back once its record is durable (or with the
// error that kept it from being): nothing is acknowledged that could still be lost. One thread
// of its own does the commits; callbacks run on it, so they must only post work elsewhere.
//
// A read served from a snapshot (view_store) is committed only if the snapshot is still the
// store's; if not, its callback gets `stale` and nothing of it was written. After each commit the
// batcher tells `on_commit` the generation the store was at, so that a stale view is noticed by
// the next commit at the latest.
class audit_batcher {
 public:
  using callback = std::function<void(std::error_code)>;
  using generation_fn = std::function<void(std::uint64_t)>;

  explicit audit_batcher(view_store& audits, std::size_t max_batch = 4096,
                         generation_fn on_commit = {});
  // Commits what was submitted, calls every callback, then stops.
  ~audit_batcher();
  audit_batcher(const audit_batcher&) = delete;
  audit_batcher& operator=(const audit_batcher&) = delete;

  // Thread safe. `as_of`: the generation of the snapshot the read was served from; 0 for a read
  // served from the store.
  void submit(audit_record record, std::uint64_t as_of, callback done);
  // Returns once everything submitted before the call is committed and its callbacks have run.
  void flush();

 private:
  void run();

  view_store& audits_;
  std::size_t max_batch_;
  generation_fn on_commit_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<audited_read> records_;
  std::vector<callback> callbacks_;
  std::condition_variable idle_;
  bool committing_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hush::store
