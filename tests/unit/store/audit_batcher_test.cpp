#include "store/audit_batcher.hpp"

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_club.hpp"

namespace hush::store {
namespace {

// A store whose audit commits fail, to see that the error reaches every waiting submitter.
class failing_audits final : public sqlite_store {
 public:
  using sqlite_store::sqlite_store;
  result<void> add_audits(std::span<const audit_record>) override {
    return make_error_code(errc::storage_failure);
  }
};

TEST(AuditBatcher, EveryRecordIsDurableBeforeItsCallback) {
  testing::temp_dir dir;
  sqlite_store db(testing::make_database(dir));
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
  testing::temp_dir dir;
  sqlite_store db(testing::make_database(dir));
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
  testing::temp_dir dir;
  failing_audits db(testing::make_database(dir));
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
