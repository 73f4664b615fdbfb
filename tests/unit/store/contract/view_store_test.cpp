// The contract of store/view_store.hpp, for every backend (store_contract.hpp).
#include "store/view_store.hpp"

#include <string>
#include <vector>

#include "core/error.hpp"
#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {
namespace {

std::uint64_t generation_of(store& db) {
  auto view = db.snapshot(0);
  EXPECT_TRUE(view) << view.error().message();
  const auto now = db.generation();
  EXPECT_TRUE(now) << now.error().message();
  EXPECT_EQ(view ? view->generation : 0, now ? *now : 1);
  return view ? view->generation : 0;
}

}  // namespace

TEST_P(ViewStoreContract, SnapshotHoldsTokensMembersAndTheNewestMessage) {
  add_member("alice");
  add_member("bob");
  ASSERT_TRUE(db.add_token({"laptop", "alice", 1, 0}, hash_of(1)));
  ASSERT_TRUE(db.add_token({"phone", "bob", 1, 50}, hash_of(2)));
  ASSERT_TRUE(db.add_message("alice", 5, fixed_value({1, 2})));
  ASSERT_TRUE(db.add_message("bob", 6, message_format::fernet, fixed_value({3})));

  const auto view = db.snapshot(0).value();
  EXPECT_GT(view.generation, 0U);
  ASSERT_EQ(view.members.size(), 2U);
  ASSERT_EQ(view.tokens.size(), 2U);
  for (const auto& token : view.tokens) {
    if (token.hash == hash_of(1)) {
      EXPECT_EQ(token.member.name, "alice");
      EXPECT_EQ(token.expires_at, 0);
      EXPECT_EQ(token.member.password_hash, "hash of alice");
    } else {
      EXPECT_EQ(token.hash, hash_of(2));
      EXPECT_EQ(token.member.name, "bob");
      EXPECT_EQ(token.expires_at, 50);
    }
  }
  ASSERT_TRUE(view.newest);
  EXPECT_EQ(view.newest->author, "bob");
  EXPECT_EQ(view.newest->sealed, std::vector<std::uint8_t>{3});
  EXPECT_EQ(view.newest->format, message_format::fernet);
}

TEST_P(ViewStoreContract, AnEmptyClubHasNoNewestMessage) {
  const auto view = db.snapshot(0).value();
  EXPECT_TRUE(view.tokens.empty());
  EXPECT_TRUE(view.members.empty());
  EXPECT_FALSE(view.newest);
}

// Every change a read from memory relies on moves the generation; reading, using a session and
// auditing do not, or a busy server would never keep a view for long.
TEST_P(ViewStoreContract, EveryChangeToWhatAReadReliesOnMovesTheGeneration) {
  auto last = generation_of(db);
  const auto moved = [&](const char* what) {
    const auto now = generation_of(db);
    EXPECT_GT(now, last) << what;
    last = now;
  };
  add_member("alice");
  moved("add_member");
  add_member("bob");
  moved("add_member");
  ASSERT_TRUE(db.set_member_role("alice", role::admin));
  moved("set_member_role");
  ASSERT_TRUE(db.set_password_hash("bob", "new hash", {}));
  moved("set_password_hash");
  ASSERT_TRUE(db.replace_password_hash("bob", "new hash", "newer hash"));
  moved("replace_password_hash");
  ASSERT_TRUE(db.add_token({"laptop", "alice", 1, 0}, hash_of(1)));
  moved("add_token");
  ASSERT_TRUE(db.remove_token("laptop"));
  moved("remove_token");
  const auto id = db.add_message("alice", 5, fixed_value({1})).value();
  moved("add_message");
  const std::vector<resealed_message> reseal{{id, {1}, {9}}};
  ASSERT_EQ(db.reseal_messages(reseal).value(), 1U);
  moved("reseal_messages");
  ASSERT_TRUE(db.remove_message(id));
  moved("remove_message");
  ASSERT_TRUE(db.add_client_cert({"c1", "bob", 10, 1000, 0}));
  moved("add_client_cert");
  ASSERT_TRUE(db.revoke_cert("c1", 20));
  moved("revoke_cert");
  ASSERT_TRUE(db.add_client_cert({"c2", "bob", 10, 1000, 0}));
  moved("add_client_cert");
  ASSERT_TRUE(db.remove_member("bob", 30));
  moved("remove_member");

  ASSERT_TRUE(db.add_session(hash_of(7), "alice", hash_now("alice"), 40, {100, 1000, 0}));
  last = generation_of(db);
  ASSERT_TRUE(db.member_by_session(hash_of(7), 200, {1000, 10000, 0}));
  ASSERT_TRUE(db.add_audit({50, "alice", message_id{1}, "r"}));
  std::vector<bool> added;
  const std::vector<audited_read> reads{{{51, "alice", message_id{1}, "r"}, 0}};
  ASSERT_TRUE(db.add_audits_as_of(reads, added));
  ASSERT_TRUE(db.find_member("alice"));
  ASSERT_TRUE(db.newest_message(0).error() == hush::errc::not_found);
  EXPECT_EQ(generation_of(db), last);
}

// A read served from a snapshot is audited only while nothing changed since; a read served from
// the store itself (as_of 0) always is.
TEST_P(ViewStoreContract, AuditsAsOfASnapshotCommitOnlyWhileItIsCurrent) {
  add_member("alice");
  const auto then = generation_of(db);
  std::vector<bool> added;
  const std::vector<audited_read> first{{{1, "alice", message_id{1}, "r"}, then},
                                        {{2, "alice", message_id{1}, "r"}, 0}};
  EXPECT_EQ(db.add_audits_as_of(first, added).value(), then);
  EXPECT_EQ(added, (std::vector<bool>{true, true}));

  ASSERT_TRUE(db.add_token({"laptop", "alice", 1, 0}, hash_of(1)));
  const auto now = generation_of(db);
  const std::vector<audited_read> second{{{3, "alice", message_id{1}, "r"}, then},
                                         {{4, "alice", message_id{1}, "r"}, 0},
                                         {{5, "alice", message_id{1}, "r"}, now}};
  EXPECT_EQ(db.add_audits_as_of(second, added).value(), now);
  EXPECT_EQ(added, (std::vector<bool>{false, true, true}));

  const auto trail = db.list_audit(10).value();
  ASSERT_EQ(trail.size(), 4U);
  EXPECT_EQ(trail[0].at, 1);
  EXPECT_EQ(trail[1].at, 2);
  EXPECT_EQ(trail[2].at, 4);
  EXPECT_EQ(trail[3].at, 5);
  EXPECT_TRUE(db.add_audits_as_of({}, added));
  EXPECT_TRUE(added.empty());
}

}  // namespace hush::store::contract
