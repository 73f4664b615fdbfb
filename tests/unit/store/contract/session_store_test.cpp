// The contract of store/session_store.hpp, for every backend (store_contract.hpp).
#include "store/session_store.hpp"

#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {
namespace {

constexpr std::int64_t t0 = 1'000'000;
constexpr session_limits limits{600, 3600, 0};

}  // namespace

TEST_P(SessionStoreContract, ASessionHashFindsItsMember) {
  ASSERT_TRUE(db.add_member("alice", role::admin, "h", 1));
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", hash_now("alice"), t0, limits));
  const auto alice = db.member_by_session(hash_of(1), t0, limits).value();
  EXPECT_EQ(alice.name, "alice");
  EXPECT_EQ(alice.member_role, role::admin);
  EXPECT_EQ(db.member_by_session(hash_of(2), t0, limits).error(), errc::not_found);
}

TEST_P(SessionStoreContract, AddRefusesAnUnknownMemberAndATakenHash) {
  add_member("alice");
  add_member("bob");
  EXPECT_EQ(db.add_session(hash_of(1), "carol", hash_now("carol"), t0, limits).error(),
            errc::not_found);
  EXPECT_EQ(db.member_by_session(hash_of(1), t0, limits).error(), errc::not_found);
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", hash_now("alice"), t0, limits));
  EXPECT_EQ(db.add_session(hash_of(1), "bob", hash_now("bob"), t0, limits).error(),
            errc::already_exists);
  EXPECT_EQ(db.member_by_session(hash_of(1), t0, limits).value().name, "alice");
}

// A login verified a password; a change replaced it and ended every session before the login
// added its own: that session must not be added, or the old password would outlive the change.
TEST_P(SessionStoreContract, AddRefusesAPasswordHashNoLongerTheMembers) {
  ASSERT_TRUE(db.add_member("alice", role::reader, "old", 1));
  EXPECT_EQ(db.add_session(hash_of(1), "alice", "not alice's", t0, limits).error(), errc::conflict);
  EXPECT_EQ(db.member_by_session(hash_of(1), t0, limits).error(), errc::not_found);
  ASSERT_TRUE(db.set_password_hash("alice", "new", std::string_view("old")));
  EXPECT_EQ(db.add_session(hash_of(1), "alice", "old", t0, limits).error(), errc::conflict);
  EXPECT_EQ(db.member_by_session(hash_of(1), t0, limits).error(), errc::not_found);
  // The hash the member has now is the one a session is added for.
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", "new", t0, limits));
  EXPECT_EQ(db.member_by_session(hash_of(1), t0, limits).value().name, "alice");
  // A rehash on login (replace_password_hash) is the same password: a login that verified the
  // hash it replaced is refused all the same, and must verify again.
  ASSERT_TRUE(db.replace_password_hash("alice", "new", "rehashed"));
  EXPECT_EQ(db.add_session(hash_of(2), "alice", "new", t0, limits).error(), errc::conflict);
}

// Logins with the old password racing a change: whatever the order, no session the old password
// made is left once the change is done.
TEST_P(SessionStoreContract, NoSessionOfTheOldPasswordOutlivesARacingChange) {
  constexpr int rounds = 20;
  for (int round = 0; round < rounds; ++round) {
    const auto name = "m" + std::to_string(round);
    ASSERT_TRUE(db.add_member(name, role::reader, "old", 1));
    {
      std::vector<std::jthread> workers;
      for (std::uint8_t i = 0; i < 3; ++i) {
        workers.emplace_back([&, i] {
          [[maybe_unused]] auto added = db.add_session(
              hash_of(static_cast<std::uint8_t>(round * 4 + i + 1)), name, "old", t0, limits);
        });
      }
      workers.emplace_back(
          [&] { ASSERT_TRUE(db.set_password_hash(name, "new", std::string_view("old"))); });
    }
    for (std::uint8_t i = 0; i < 3; ++i) {
      EXPECT_EQ(
          db.member_by_session(hash_of(static_cast<std::uint8_t>(round * 4 + i + 1)), t0, limits)
              .error(),
          errc::not_found)
          << "round " << round;
    }
  }
}

TEST_P(SessionStoreContract, AnIdleSessionExpiresAndStaysExpired) {
  add_member("alice");
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", hash_now("alice"), t0, limits));
  EXPECT_TRUE(db.member_by_session(hash_of(1), t0 + limits.idle - 1, limits));
  ASSERT_TRUE(db.add_session(hash_of(2), "alice", hash_now("alice"), t0, limits));
  EXPECT_EQ(db.member_by_session(hash_of(2), t0 + limits.idle, limits).error(), errc::expired);
  EXPECT_EQ(db.member_by_session(hash_of(2), t0 + limits.idle + 1, limits).error(), errc::expired);
}

TEST_P(SessionStoreContract, AUseKeepsTheSessionAlive) {
  add_member("alice");
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", hash_now("alice"), t0, limits));
  const auto used = t0 + limits.idle - 1;
  ASSERT_TRUE(db.member_by_session(hash_of(1), used, limits));
  EXPECT_TRUE(db.member_by_session(hash_of(1), used + limits.idle - 1, limits));
}

// The use is recorded at most once a minute: a use less than a minute after the last mark does
// not move it, one a minute or more after does.
TEST_P(SessionStoreContract, AUseIsMarkedOnceAMinute) {
  add_member("alice");
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", hash_now("alice"), t0, limits));
  ASSERT_TRUE(db.member_by_session(hash_of(1), t0 + 59, limits));
  EXPECT_EQ(db.member_by_session(hash_of(1), t0 + limits.idle, limits).error(), errc::expired);

  ASSERT_TRUE(db.add_session(hash_of(2), "alice", hash_now("alice"), t0, limits));
  ASSERT_TRUE(db.member_by_session(hash_of(2), t0 + 60, limits));
  // Past the idle limit from creation, within it from the mark.
  EXPECT_TRUE(db.member_by_session(hash_of(2), t0 + 60 + limits.idle - 1, limits));
}

TEST_P(SessionStoreContract, UseDoesNotOutliveTheAbsoluteLimit) {
  add_member("alice");
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", hash_now("alice"), t0, limits));
  for (std::int64_t at = t0 + 500; at < t0 + limits.absolute; at += 500) {
    ASSERT_TRUE(db.member_by_session(hash_of(1), at, limits)) << at - t0;
  }
  EXPECT_TRUE(db.member_by_session(hash_of(1), t0 + limits.absolute - 1, limits));
  EXPECT_EQ(db.member_by_session(hash_of(1), t0 + limits.absolute, limits).error(), errc::expired);
}

// A session that ran out stays `expired` until the next login sweeps it; live ones stay.
TEST_P(SessionStoreContract, AddingASessionSweepsTheOnesThatRanOut) {
  add_member("alice");
  add_member("bob");
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", hash_now("alice"), t0, limits));
  ASSERT_TRUE(db.add_session(hash_of(2), "bob", hash_now("bob"), t0 + 1, limits));
  const auto later = t0 + limits.idle;
  EXPECT_EQ(db.member_by_session(hash_of(1), later, limits).error(), errc::expired);
  ASSERT_TRUE(db.add_session(hash_of(3), "bob", hash_now("bob"), later, limits));
  EXPECT_EQ(db.member_by_session(hash_of(1), later, limits).error(), errc::not_found);
  EXPECT_EQ(db.member_by_session(hash_of(2), later, limits).value().name, "bob");
  EXPECT_EQ(db.member_by_session(hash_of(3), later, limits).value().name, "bob");
}

TEST_P(SessionStoreContract, SessionsPerMemberAreCappedOldestFirst) {
  add_member("reader");
  add_member("other");
  const session_limits capped{600, 3600, 3};
  ASSERT_TRUE(db.add_session(hash_of(100), "other", hash_now("other"), t0, capped));
  for (std::uint8_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(db.add_session(hash_of(i), "reader", hash_now("reader"), t0, capped));
  }
  for (std::uint8_t i = 0; i < 5; ++i) {
    const auto found = db.member_by_session(hash_of(i), t0, capped);
    if (i < 2) {
      EXPECT_EQ(found.error(), errc::not_found) << int{i};
    } else {
      EXPECT_TRUE(found) << int{i};
    }
  }
  EXPECT_EQ(db.member_by_session(hash_of(100), t0, capped).value().name, "other");
}

TEST_P(SessionStoreContract, ARemovedSessionIsGone) {
  add_member("alice");
  ASSERT_TRUE(db.add_session(hash_of(1), "alice", hash_now("alice"), t0, limits));
  ASSERT_TRUE(db.add_session(hash_of(2), "alice", hash_now("alice"), t0, limits));
  EXPECT_EQ(db.remove_session(hash_of(3)).error(), errc::not_found);
  ASSERT_TRUE(db.remove_session(hash_of(1)));
  EXPECT_EQ(db.member_by_session(hash_of(1), t0, limits).error(), errc::not_found);
  EXPECT_EQ(db.remove_session(hash_of(1)).error(), errc::not_found);
  EXPECT_TRUE(db.member_by_session(hash_of(2), t0, limits));
}

}  // namespace hush::store::contract
