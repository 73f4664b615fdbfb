#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "store/audit_store.hpp"

namespace hush::store {

// Group commit for the audit trail. Reads are audited before their body is sent, and each commit
// is durable (an fsync), so one commit per read would cap the server at the disk's fsync rate.
// Instead, records arriving while a commit is under way wait for the next one, which takes them
// all in one transaction. Each submitter is called back once its record is durable (or with the
// error that kept it from being): nothing is acknowledged that could still be lost. One thread
// of its own does the commits; callbacks run on it, so they must only post work elsewhere.
class audit_batcher {
 public:
  using callback = std::function<void(std::error_code)>;

  explicit audit_batcher(audit_store& audits, std::size_t max_batch = 4096);
  // Commits what was submitted, calls every callback, then stops.
  ~audit_batcher();
  audit_batcher(const audit_batcher&) = delete;
  audit_batcher& operator=(const audit_batcher&) = delete;

  // Thread safe.
  void submit(audit_record record, callback done);

 private:
  void run();

  audit_store& audits_;
  std::size_t max_batch_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<audit_record> records_;
  std::vector<callback> callbacks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hush::store
