// The contract of store/token_store.hpp, for every backend (store_contract.hpp).
#include "store/token_store.hpp"

#include "core/error.hpp"
#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {

TEST_P(TokenStoreContract, ATokenHashFindsItsMember) {
  ASSERT_TRUE(db.add_member("alice", role::poster, "h", 1));
  ASSERT_TRUE(db.add_token({"ci", "alice", 10, 0}, hash_of(1)));
  const auto alice = db.member_by_token(hash_of(1), 20).value();
  EXPECT_EQ(alice.name, "alice");
  EXPECT_EQ(alice.member_role, role::poster);
  EXPECT_EQ(alice.password_hash, "h");
  EXPECT_EQ(db.member_by_token(hash_of(2), 20).error(), errc::not_found);
}

TEST_P(TokenStoreContract, AddRefusesAnUnknownMemberAndTakenNamesAndHashes) {
  add_member("alice");
  add_member("bob");
  EXPECT_EQ(db.add_token({"t", "carol", 10, 0}, hash_of(1)).error(), errc::not_found);
  ASSERT_TRUE(db.add_token({"t", "alice", 10, 0}, hash_of(1)));
  // Names are unique across the club, not per member.
  EXPECT_EQ(db.add_token({"t", "bob", 10, 0}, hash_of(2)).error(), errc::already_exists);
  EXPECT_EQ(db.add_token({"u", "bob", 10, 0}, hash_of(1)).error(), errc::already_exists);
  EXPECT_EQ(db.list_tokens().value().size(), 1U);
  EXPECT_EQ(db.member_by_token(hash_of(1), 20).value().name, "alice");
  EXPECT_EQ(db.member_by_token(hash_of(2), 20).error(), errc::not_found);
}

TEST_P(TokenStoreContract, ATokenExpiresAtItsExpiryAndIsStillListed) {
  add_member("alice");
  ASSERT_TRUE(db.add_token({"short", "alice", 10, 100}, hash_of(1)));
  ASSERT_TRUE(db.add_token({"forever", "alice", 10, 0}, hash_of(2)));
  EXPECT_EQ(db.member_by_token(hash_of(1), 99).value().name, "alice");
  EXPECT_EQ(db.member_by_token(hash_of(1), 100).error(), errc::not_found);
  EXPECT_EQ(db.member_by_token(hash_of(1), 101).error(), errc::not_found);
  EXPECT_EQ(db.member_by_token(hash_of(2), 4'000'000'000).value().name, "alice");
  EXPECT_EQ(db.list_tokens().value().size(), 2U);
}

TEST_P(TokenStoreContract, ListingIsByMemberThenName) {
  add_member("alice");
  add_member("bob");
  ASSERT_TRUE(db.add_token({"a", "bob", 10, 0}, hash_of(1)));
  ASSERT_TRUE(db.add_token({"z", "alice", 11, 500}, hash_of(2)));
  ASSERT_TRUE(db.add_token({"b", "alice", 12, 0}, hash_of(3)));
  const auto all = db.list_tokens().value();
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].name, "b");
  EXPECT_EQ(all[1].name, "z");
  EXPECT_EQ(all[1].member, "alice");
  EXPECT_EQ(all[1].created_at, 11);
  EXPECT_EQ(all[1].expires_at, 500);
  EXPECT_EQ(all[2].name, "a");
  EXPECT_EQ(all[2].member, "bob");
}

TEST_P(TokenStoreContract, ARemovedTokenNoLongerWorksAndFreesItsName) {
  add_member("alice");
  ASSERT_TRUE(db.add_token({"t", "alice", 10, 0}, hash_of(1)));
  EXPECT_EQ(db.remove_token("u").error(), errc::not_found);
  ASSERT_TRUE(db.remove_token("t"));
  EXPECT_EQ(db.member_by_token(hash_of(1), 20).error(), errc::not_found);
  EXPECT_EQ(db.remove_token("t").error(), errc::not_found);
  EXPECT_TRUE(db.list_tokens().value().empty());
  EXPECT_TRUE(db.add_token({"t", "alice", 30, 0}, hash_of(2)));
}

}  // namespace hush::store::contract
