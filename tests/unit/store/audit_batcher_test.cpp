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
class failing_audits final : public testing::memory_view_store {
 public:
  using memory_view_store::memory_view_store;
  result<std::uint64_t> add_audits_as_of(std::span<const audited_read>,
                                         std::vector<bool>&) override {
    return make_error_code(errc::storage_failure);
  }
};

TEST(AuditBatcher, EveryRecordIsDurableBeforeItsCallback) {
  testing::memory_tables tables;
  testing::memory_view_store views(tables);
  testing::memory_audit_store db(tables);
  constexpr int threads = 4;
  constexpr int per_thread = 50;
  std::atomic<int> acknowledged{0};
  {
    audit_batcher batcher(views);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          std::promise<std::error_code> done;
          auto acknowledged_now = done.get_future();
          const std::string member = "m" + std::to_string(t) + "-" + std::to_string(i);
          batcher.submit({i, member, message_id{i + 1}, "127.0.0.1"}, 0,
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
  testing::memory_view_store views(tables);
  testing::memory_audit_store db(tables);
  std::atomic<int> called{0};
  {
    audit_batcher batcher(views);
    for (int i = 0; i < 100; ++i) {
      batcher.submit({i, "m", message_id{1}, "r"}, 0, [&](std::error_code ec) {
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
      batcher.submit({i, "m", message_id{1}, "r"}, 0, [&](std::error_code ec) {
        if (ec == errc::storage_failure) {
          ++failed;
        }
      });
    }
  }
  EXPECT_EQ(failed.load(), 10);
}

// A read served from a snapshot that a change has overtaken is not audited, and its submitter
// learns it (to serve the read again from the store); the others commit as usual, and the
// generation each commit saw is reported.
TEST(AuditBatcher, ReadsFromAnOvertakenSnapshotAreStale) {
  testing::memory_tables tables;
  testing::memory_view_store views(tables);
  testing::memory_audit_store db(tables);
  testing::memory_member_store members(tables);
  const auto then = views.snapshot(0).value().generation;
  ASSERT_TRUE(members.add_member("alice", role::reader, "h", 1));
  const auto now = views.snapshot(0).value().generation;
  ASSERT_NE(then, now);
  std::atomic<std::uint64_t> seen{0};
  std::vector<std::error_code> outcomes(3);
  {
    audit_batcher batcher(views, 4096, [&](std::uint64_t g) { seen = g; });
    batcher.submit({1, "alice", message_id{1}, "r"}, then,
                   [&](std::error_code ec) { outcomes[0] = ec; });
    batcher.submit({2, "alice", message_id{1}, "r"}, now,
                   [&](std::error_code ec) { outcomes[1] = ec; });
    batcher.submit({3, "alice", message_id{1}, "r"}, 0,
                   [&](std::error_code ec) { outcomes[2] = ec; });
  }
  EXPECT_EQ(outcomes[0], errc::stale);
  EXPECT_FALSE(outcomes[1]);
  EXPECT_FALSE(outcomes[2]);
  EXPECT_EQ(seen.load(), now);
  const auto trail = db.list_audit(10).value();
  ASSERT_EQ(trail.size(), 2U);
  EXPECT_EQ(trail[0].at, 2);
  EXPECT_EQ(trail[1].at, 3);
}

}  // namespace
}  // namespace hush::store
