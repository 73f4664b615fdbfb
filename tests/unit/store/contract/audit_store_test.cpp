// The contract of store/audit_store.hpp, for every backend (store_contract.hpp).
#include "store/audit_store.hpp"

#include <string>

#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {

TEST_P(AuditStoreContract, ListingKeepsTheLastRecordsInTheOrderAdded) {
  EXPECT_TRUE(db.list_audit(10).value().empty());
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(db.add_audit({i, "m" + std::to_string(i), message_id{i}, "127.0.0.1"}));
  }
  const auto last = db.list_audit(2).value();
  ASSERT_EQ(last.size(), 2U);
  EXPECT_EQ(last[0].member, "m3");
  EXPECT_EQ(last[1].member, "m4");
  EXPECT_EQ(last[1].at, 4);
  EXPECT_EQ(last[1].message.value, 4);
  EXPECT_EQ(last[1].remote, "127.0.0.1");
  EXPECT_EQ(db.list_audit(100).value().size(), 4U);
  EXPECT_TRUE(db.list_audit(0).value().empty());
}

// In the order added, not by time: a record's time is the reader's, and clocks step back.
TEST_P(AuditStoreContract, OrderIsTheOrderAddedNotTheTime) {
  ASSERT_TRUE(db.add_audit({30, "a", message_id{1}, "r"}));
  const std::vector<audit_record> batch{{10, "b", message_id{2}, "r"},
                                        {20, "c", message_id{3}, "r"}};
  ASSERT_TRUE(db.add_audits(batch));
  ASSERT_TRUE(db.add_audits({}));
  ASSERT_TRUE(db.add_audit({5, "d", message_id{4}, "r"}));
  const auto all = db.list_audit(10).value();
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(all[0].member, "a");
  EXPECT_EQ(all[1].member, "b");
  EXPECT_EQ(all[2].member, "c");
  EXPECT_EQ(all[3].member, "d");
}

TEST_P(AuditStoreContract, PruneTakesOnlyOldRecordsInBatches) {
  for (std::int64_t at = 1; at <= 10; ++at) {
    ASSERT_TRUE(db.add_audit({at * 100, "reader", message_id{1}, "192.0.2.1"}));
  }
  EXPECT_EQ(db.prune_audit(601, 4).value(), 4U);
  EXPECT_EQ(db.prune_audit(601, 4).value(), 2U);
  EXPECT_EQ(db.prune_audit(601, 4).value(), 0U);
  const auto left = db.list_audit(100).value();
  ASSERT_EQ(left.size(), 4U);
  EXPECT_EQ(left.front().at, 700);
  EXPECT_EQ(db.prune_audit(700, 4).value(), 0U);  // strictly before
}

TEST_P(AuditStoreContract, PruneTakesTheOldestTimesFirst) {
  ASSERT_TRUE(db.add_audit({500, "a", message_id{1}, "r"}));
  ASSERT_TRUE(db.add_audit({100, "b", message_id{1}, "r"}));
  ASSERT_TRUE(db.add_audit({300, "c", message_id{1}, "r"}));
  EXPECT_EQ(db.prune_audit(1000, 1).value(), 1U);
  const auto left = db.list_audit(10).value();
  ASSERT_EQ(left.size(), 2U);
  EXPECT_EQ(left[0].member, "a");
  EXPECT_EQ(left[1].member, "c");
}

// Read receipts: one message's reads, in the order added (not by time), at most `limit`.
TEST_P(AuditStoreContract, ReadsOfOneMessageComeOldestFirst) {
  EXPECT_TRUE(db.reads_of(message_id{1}, 10).value().empty());
  ASSERT_TRUE(db.add_audit({30, "bob", message_id{1}, "192.0.2.1"}));
  ASSERT_TRUE(db.add_audit({31, "carol", message_id{2}, "192.0.2.2"}));
  const std::vector<audit_record> batch{{10, "dave", message_id{1}, "192.0.2.3"},
                                        {40, "erin", message_id{1}, "192.0.2.4"}};
  ASSERT_TRUE(db.add_audits(batch));
  const auto reads = db.reads_of(message_id{1}, 10).value();
  ASSERT_EQ(reads.size(), 3U);
  EXPECT_EQ(reads[0].member, "bob");
  EXPECT_EQ(reads[0].at, 30);
  EXPECT_EQ(reads[0].remote, "192.0.2.1");
  EXPECT_EQ(reads[1].member, "dave");
  EXPECT_EQ(reads[2].member, "erin");
  EXPECT_EQ(reads[2].message, message_id{1});
  const auto first = db.reads_of(message_id{1}, 2).value();
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[1].member, "dave");
  EXPECT_EQ(db.reads_of(message_id{2}, 10).value().size(), 1U);
  EXPECT_TRUE(db.reads_of(message_id{1}, 0).value().empty());
}

}  // namespace hush::store::contract
