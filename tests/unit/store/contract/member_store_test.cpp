// The contract of store/member_store.hpp, for every backend (store_contract.hpp).
#include "store/member_store.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {

TEST_P(MemberStoreContract, AddedMembersAreFoundAndListedByName) {
  const auto bob = db.add_member("bob", role::reader, "h1", 10);
  const auto alice = db.add_member("alice", role::admin, "h2", 11);
  ASSERT_TRUE(bob);
  ASSERT_TRUE(alice);
  EXPECT_NE(*bob, *alice);

  const auto found = db.find_member("alice").value();
  EXPECT_EQ(found.id, *alice);
  EXPECT_EQ(found.name, "alice");
  EXPECT_EQ(found.member_role, role::admin);
  EXPECT_EQ(found.password_hash, "h2");
  EXPECT_EQ(found.created_at, 11);
  EXPECT_EQ(db.find_member("carol").error(), errc::not_found);

  const auto all = db.list_members().value();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(all[1].name, "bob");
  EXPECT_EQ(all[1].id, *bob);
  EXPECT_EQ(all[1].member_role, role::reader);
}

TEST_P(MemberStoreContract, ATakenNameIsRefusedAndTheMemberUnchanged) {
  ASSERT_TRUE(db.add_member("bob", role::reader, "h1", 10));
  EXPECT_EQ(db.add_member("bob", role::admin, "h3", 12).error(), errc::already_exists);
  const auto bob = db.find_member("bob").value();
  EXPECT_EQ(bob.member_role, role::reader);
  EXPECT_EQ(bob.password_hash, "h1");
  EXPECT_EQ(db.list_members().value().size(), 1U);
}

// Byte order, not a locale's: a backend whose default collation folds case must not leak it.
TEST_P(MemberStoreContract, ListingIsInByteOrder) {
  add_member("bob");
  add_member("Zed");
  add_member("alice");
  add_member("_x");
  const auto all = db.list_members().value();
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(all[0].name, "Zed");
  EXPECT_EQ(all[1].name, "_x");
  EXPECT_EQ(all[2].name, "alice");
  EXPECT_EQ(all[3].name, "bob");
}

TEST_P(MemberStoreContract, RemovedMembersAreGoneAndTheirNameFree) {
  add_member("alice");
  add_member("bob");
  ASSERT_TRUE(db.remove_member("bob", 20));
  EXPECT_EQ(db.find_member("bob").error(), errc::not_found);
  EXPECT_EQ(db.remove_member("bob", 21).error(), errc::not_found);
  EXPECT_EQ(db.list_members().value().size(), 1U);
  ASSERT_TRUE(db.add_member("bob", role::poster, "new", 22));
  EXPECT_EQ(db.find_member("bob").value().password_hash, "new");
}

TEST_P(MemberStoreContract, TheOnlyAdminIsNeverRemoved) {
  ASSERT_TRUE(db.add_member("root", role::admin, "h1", 10));
  ASSERT_TRUE(db.add_member("deputy", role::admin, "h2", 11));
  add_member("bob");
  ASSERT_TRUE(db.remove_member("deputy", 20));
  EXPECT_EQ(db.remove_member("root", 21).error(), errc::conflict);
  EXPECT_TRUE(db.find_member("root"));
  // Others go as before.
  EXPECT_TRUE(db.remove_member("bob", 22));
}

TEST_P(MemberStoreContract, SetMemberRoleChangesTheRoleAndReturnsTheOldOne) {
  ASSERT_TRUE(db.add_member("root", role::admin, "h1", 10));
  ASSERT_TRUE(db.add_member("bob", role::reader, "h2", 11));
  EXPECT_EQ(db.set_member_role("bob", role::poster).value(), role::reader);
  EXPECT_EQ(db.find_member("bob").value().member_role, role::poster);
  EXPECT_EQ(db.set_member_role("bob", role::admin).value(), role::poster);
  EXPECT_EQ(db.find_member("bob").value().member_role, role::admin);
  // The same role again changes nothing and is no error.
  EXPECT_EQ(db.set_member_role("bob", role::admin).value(), role::admin);
  EXPECT_EQ(db.find_member("bob").value().member_role, role::admin);
  // Nothing else of the member changes.
  const auto bob = db.find_member("bob").value();
  EXPECT_EQ(bob.password_hash, "h2");
  EXPECT_EQ(bob.created_at, 11);
  EXPECT_EQ(db.set_member_role("carol", role::admin).error(), errc::not_found);
  EXPECT_EQ(db.find_member("carol").error(), errc::not_found);
}

TEST_P(MemberStoreContract, TheOnlyAdminIsNeverDemoted) {
  ASSERT_TRUE(db.add_member("root", role::admin, "h1", 10));
  add_member("bob");
  EXPECT_EQ(db.set_member_role("root", role::poster).error(), errc::conflict);
  EXPECT_EQ(db.set_member_role("root", role::reader).error(), errc::conflict);
  EXPECT_EQ(db.find_member("root").value().member_role, role::admin);
  // Staying admin is no demotion.
  EXPECT_EQ(db.set_member_role("root", role::admin).value(), role::admin);
  // With a second admin, either may step down, but not both.
  ASSERT_TRUE(db.set_member_role("bob", role::admin));
  EXPECT_EQ(db.set_member_role("root", role::reader).value(), role::admin);
  EXPECT_EQ(db.set_member_role("bob", role::reader).error(), errc::conflict);
  EXPECT_EQ(db.find_member("bob").value().member_role, role::admin);
  // The last admin can no more be removed than demoted.
  EXPECT_EQ(db.remove_member("bob", 20).error(), errc::conflict);
}

// Two admins demoted at once, or one demoted while the other is removed: the check and the
// change are one step, so the club always keeps one.
TEST_P(MemberStoreContract, RacingDemotionsLeaveOneAdmin) {
  constexpr int rounds = 20;
  std::string admin = "root";
  ASSERT_TRUE(db.add_member(admin, role::admin, "h", 1));
  for (int round = 0; round < rounds; ++round) {
    // Two admins, each taken away by one thread.
    const auto other = "admin" + std::to_string(round);
    ASSERT_TRUE(db.add_member(other, role::admin, "h", 1));
    std::atomic<int> succeeded = 0;
    {
      std::vector<std::jthread> workers;
      workers.emplace_back([&] {
        if (db.set_member_role(admin, role::reader)) {
          ++succeeded;
        }
      });
      workers.emplace_back([&] {
        // Half the rounds race a removal against the demotion.
        const bool ok = round % 2 == 0 ? static_cast<bool>(db.set_member_role(other, role::poster))
                                       : static_cast<bool>(db.remove_member(other, 2));
        if (ok) {
          ++succeeded;
        }
      });
    }
    EXPECT_EQ(succeeded.load(), 1) << "round " << round;
    std::vector<std::string> admins;
    for (const auto& m : db.list_members().value()) {
      if (m.member_role == role::admin) {
        admins.push_back(m.name);
      }
    }
    ASSERT_EQ(admins.size(), 1U) << "round " << round;
    admin = admins.front();
  }
}

TEST_P(MemberStoreContract, RemovalEndsTokensAndSessionsAndRevokesCertificates) {
  const session_limits limits{3600, 86400, 0};
  add_member("alice");
  add_member("bob");
  ASSERT_TRUE(db.add_token({"alice-t", "alice", 1, 0}, hash_of(1)));
  ASSERT_TRUE(db.add_token({"bob-t", "bob", 1, 0}, hash_of(2)));
  ASSERT_TRUE(db.add_session(hash_of(3), "alice", hash_now("alice"), 1, limits));
  ASSERT_TRUE(db.add_session(hash_of(4), "bob", hash_now("bob"), 1, limits));
  ASSERT_TRUE(db.add_client_cert({"a1", "alice", 1, 1000, 0}));
  ASSERT_TRUE(db.add_client_cert({"a2", "alice", 1, 1000, 7}));
  ASSERT_TRUE(db.add_client_cert({"b1", "bob", 1, 1000, 0}));
  ASSERT_TRUE(db.add_message("alice", 1, fixed_value({1})));
  ASSERT_TRUE(db.add_audit({2, "alice", message_id{1}, "192.0.2.1"}));

  ASSERT_TRUE(db.remove_member("alice", 50));

  EXPECT_EQ(db.member_by_token(hash_of(1), 51).error(), errc::not_found);
  EXPECT_EQ(db.member_by_session(hash_of(3), 51, limits).error(), errc::not_found);
  const auto tokens = db.list_tokens().value();
  ASSERT_EQ(tokens.size(), 1U);
  EXPECT_EQ(tokens[0].name, "bob-t");
  // The certificates stay, revoked at the removal (a revoked one keeps its first date), so that
  // the CRL goes on listing them.
  const auto a1 = db.client_cert_status("a1").value();
  EXPECT_EQ(a1.member, "alice");
  EXPECT_EQ(a1.revoked_at, 50);
  EXPECT_EQ(db.client_cert_status("a2").value().revoked_at, 7);
  // Bob keeps everything; alice's messages and the audit trail stay.
  EXPECT_EQ(db.member_by_token(hash_of(2), 51).value().name, "bob");
  EXPECT_EQ(db.member_by_session(hash_of(4), 51, limits).value().name, "bob");
  EXPECT_FALSE(db.client_cert_status("b1").value().revoked());
  EXPECT_EQ(db.newest_message(0).value().author, "alice");
  EXPECT_EQ(db.list_audit(10).value().size(), 1U);

  // A new member of the same name gets none of the old credentials back.
  add_member("alice", 60);
  EXPECT_EQ(db.member_by_token(hash_of(1), 61).error(), errc::not_found);
  EXPECT_EQ(db.member_by_session(hash_of(3), 61, limits).error(), errc::not_found);
  EXPECT_TRUE(db.client_cert_status("a1").value().revoked());
}

TEST_P(MemberStoreContract, RemovingAnUnknownNameChangesNothing) {
  add_member("bob");
  ASSERT_TRUE(db.add_client_cert({"b1", "bob", 1, 1000, 0}));
  EXPECT_EQ(db.remove_member("carol", 60).error(), errc::not_found);
  EXPECT_FALSE(db.client_cert_status("b1").value().revoked());
  EXPECT_EQ(db.list_members().value().size(), 1U);
}

TEST_P(MemberStoreContract, ReplacePasswordHashIsACompareAndSwap) {
  const session_limits limits{3600, 86400, 0};
  ASSERT_TRUE(db.add_member("alice", role::reader, "old", 1));
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", hash_now("alice"), 1, limits));
  EXPECT_EQ(db.replace_password_hash("alice", "stale", "new").error(), errc::not_found);
  EXPECT_EQ(db.find_member("alice").value().password_hash, "old");
  EXPECT_TRUE(db.replace_password_hash("alice", "old", "new"));
  EXPECT_EQ(db.find_member("alice").value().password_hash, "new");
  EXPECT_EQ(db.replace_password_hash("alice", "old", "newer").error(), errc::not_found);
  EXPECT_EQ(db.find_member("alice").value().password_hash, "new");
  EXPECT_EQ(db.replace_password_hash("nobody", "old", "new").error(), errc::not_found);
  // A rehash is the same password: the member stays logged in.
  EXPECT_EQ(db.member_by_session(hash_of(1), 2, limits).value().name, "alice");
}

TEST_P(MemberStoreContract, SetPasswordHashEndsTheMembersSessionsOnly) {
  const session_limits limits{3600, 86400, 0};
  ASSERT_TRUE(db.add_member("alice", role::reader, "old", 1));
  add_member("bob");
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", hash_now("alice"), 1, limits));
  ASSERT_TRUE(db.add_session(hash_of(2), "alice", hash_now("alice"), 1, limits));
  ASSERT_TRUE(db.add_session(hash_of(3), "bob", hash_now("bob"), 1, limits));
  ASSERT_TRUE(db.add_token({"alice-t", "alice", 1, 0}, hash_of(4)));

  ASSERT_TRUE(db.set_password_hash("alice", "newer", {}));
  EXPECT_EQ(db.find_member("alice").value().password_hash, "newer");
  EXPECT_EQ(db.member_by_session(hash_of(1), 2, limits).error(), errc::not_found);
  EXPECT_EQ(db.member_by_session(hash_of(2), 2, limits).error(), errc::not_found);
  EXPECT_EQ(db.member_by_session(hash_of(3), 2, limits).value().name, "bob");
  EXPECT_EQ(db.member_by_token(hash_of(4), 2).value().name, "alice");
  EXPECT_EQ(db.set_password_hash("nobody", "x", {}).error(), errc::not_found);
}

TEST_P(MemberStoreContract, SetPasswordHashWithAnExpectedHashIsACompareAndSwap) {
  const session_limits limits{3600, 86400, 0};
  ASSERT_TRUE(db.add_member("alice", role::reader, "old", 1));
  add_member("bob");
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", "old", 1, limits));
  ASSERT_TRUE(db.add_session(hash_of(2), "bob", hash_now("bob"), 1, limits));

  // A change that verified a password no longer the member's changes nothing: neither the hash
  // nor the sessions.
  EXPECT_EQ(db.set_password_hash("alice", "newer", std::string_view("stale")).error(),
            errc::conflict);
  EXPECT_EQ(db.find_member("alice").value().password_hash, "old");
  EXPECT_EQ(db.member_by_session(hash_of(1), 2, limits).value().name, "alice");

  // The one that verified the current hash swaps it and ends every session of the member, the
  // one it was made in included; other members keep theirs.
  ASSERT_TRUE(db.set_password_hash("alice", "newer", std::string_view("old")));
  EXPECT_EQ(db.find_member("alice").value().password_hash, "newer");
  EXPECT_EQ(db.member_by_session(hash_of(1), 2, limits).error(), errc::not_found);
  EXPECT_EQ(db.member_by_session(hash_of(2), 2, limits).value().name, "bob");

  // The second of two changes that verified the same password loses.
  EXPECT_EQ(db.set_password_hash("alice", "newest", std::string_view("old")).error(),
            errc::conflict);
  EXPECT_EQ(db.find_member("alice").value().password_hash, "newer");
  EXPECT_EQ(db.set_password_hash("nobody", "x", std::string_view("old")).error(), errc::not_found);
}

// Of many changes racing that all verified the same password, exactly one wins.
TEST_P(MemberStoreContract, OfChangesRacingOnOneVerifiedHashOneWins) {
  ASSERT_TRUE(db.add_member("alice", role::reader, "old", 1));
  constexpr int racers = 8;
  std::atomic<int> won{0};
  std::atomic<int> lost{0};
  {
    std::vector<std::jthread> pool;
    for (int i = 0; i < racers; ++i) {
      pool.emplace_back([&, i] {
        const auto changed =
            db.set_password_hash("alice", "new " + std::to_string(i), std::string_view("old"));
        if (changed) {
          ++won;
        } else if (changed.error() == errc::conflict) {
          ++lost;
        }
      });
    }
  }
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), racers - 1);
  EXPECT_EQ(db.find_member("alice").value().password_hash.rfind("new ", 0), 0U);
}

}  // namespace hush::store::contract
