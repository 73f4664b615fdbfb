#include "store/audit_batcher.hpp"

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "support/memory_store.hpp"

namespace hush::store {
namespace {

// An audit trail whose commits fail, to see that the error reaches every waiting submitter.
class failing_audits final : public testing::memory_audit_store {
 public:
  using memory_audit_store::memory_audit_store;
  result<void> add_audits(std::span<const audit_record>) override {
    return make_error_code(errc::storage_failure);
  }
};

TEST(AuditBatcher, EveryRecordIsDurableBeforeItsCallback) {
  testing::memory_tables tables;
  testing::memory_audit_store db(tables);
  constexpr int threads = 4;
  constexpr int per_thread = 50;
  std::atomic<int> acknowledged{0};
  {
    audit_batcher batcher(db);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          std::promise<std::error_code> done;
          auto acknowledged_now = done.get_future();
          const std::string member = "m" + std::to_string(t) + "-" + std::to_string(i);
          batcher.submit({i, member, message_id{i + 1}, "127.0.0.1"},
                         [&done](std::error_code ec) { done.set_value(ec); });
          ASSERT_FALSE(acknowledged_now.get());
          ++acknowledged;
        }
      });
    }
    for (auto& thread : pool) {
      thread.join();
    }
  }
  EXPECT_EQ(acknowledged.load(), threads * per_thread);
  EXPECT_EQ(db.list_audit(10'000).value().size(), static_cast<std::size_t>(threads * per_thread));
}

TEST(AuditBatcher, DestructionCommitsWhatWasSubmitted) {
  testing::memory_tables tables;
  testing::memory_audit_store db(tables);
  std::atomic<int> called{0};
  {
    audit_batcher batcher(db);
    for (int i = 0; i < 100; ++i) {
      batcher.submit({i, "m", message_id{1}, "r"}, [&](std::error_code ec) {
        EXPECT_FALSE(ec);
        ++called;
      });
    }
  }
  EXPECT_EQ(called.load(), 100);
  EXPECT_EQ(db.list_audit(1000).value().size(), 100U);
}

TEST(AuditBatcher, FailureReachesEverySubmitter) {
  testing::memory_tables tables;
  failing_audits db(tables);
  std::atomic<int> failed{0};
  {
    audit_batcher batcher(db);
    for (int i = 0; i < 10; ++i) {
      batcher.submit({i, "m", message_id{1}, "r"}, [&](std::error_code ec) {
        if (ec == errc::storage_failure) {
          ++failed;
        }
      });
    }
  }
  EXPECT_EQ(failed.load(), 10);
}

}  // namespace
}  // namespace hush::store
