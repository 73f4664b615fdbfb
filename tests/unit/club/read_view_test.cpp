#include "club/read_view.hpp"

#include <gtest/gtest.h>

#include "club/credentials.hpp"
#include "core/error.hpp"
#include "support/test_club.hpp"

namespace hush::club {
namespace {

std::vector<std::uint8_t> bytes(const std::array<std::uint8_t, 32>& a) {
  return {a.begin(), a.end()};
}

store::read_snapshot snapshot_at(std::uint64_t generation) {
  store::read_snapshot s;
  s.generation = generation;
  store::member_record alice{store::member_id{1}, "alice", store::role::poster, "hash-a", 1};
  s.members.push_back(alice);
  s.tokens.push_back({bytes(token_hash("forever")), 0, alice});
  s.tokens.push_back({bytes(token_hash("until-100")), 100, alice});
  s.tokens.push_back({{1, 2, 3}, 0, alice});  // not a hash this club makes
  return s;
}

TEST(ReadView, FindsTokensUntilTheyRunOutAndMembersByName) {
  const read_view view(snapshot_at(7));
  EXPECT_EQ(view.generation(), 7U);
  const auto forever = token_hash("forever");
  const auto until_100 = token_hash("until-100");
  ASSERT_NE(view.member_by_token_hash(forever, 1'000'000), nullptr);
  EXPECT_EQ(view.member_by_token_hash(forever, 1'000'000)->name, "alice");
  EXPECT_NE(view.member_by_token_hash(until_100, 99), nullptr);
  EXPECT_EQ(view.member_by_token_hash(until_100, 100), nullptr);
  EXPECT_EQ(view.member_by_token_hash(token_hash("nobody's"), 1), nullptr);
  const std::vector<std::uint8_t> short_hash{1, 2, 3};
  EXPECT_EQ(view.member_by_token_hash(short_hash, 1), nullptr);
  ASSERT_NE(view.find_member("alice"), nullptr);
  EXPECT_EQ(view.find_member("alice")->member_role, store::role::poster);
  EXPECT_EQ(view.find_member("bob"), nullptr);
  EXPECT_FALSE(view.newest());
}

TEST(ReadViews, ServeAViewOnlyWhileNoCommitSawANewerGeneration) {
  std::uint64_t store_generation = 5;
  int loads = 0;
  read_views views([&]() -> result<std::shared_ptr<const read_view>> {
    ++loads;
    return std::make_shared<const read_view>(snapshot_at(store_generation));
  });
  EXPECT_EQ(views.current(), nullptr);  // none loaded yet
  EXPECT_TRUE(views.stale());
  ASSERT_TRUE(views.refresh());
  ASSERT_NE(views.current(), nullptr);
  EXPECT_EQ(views.current()->generation(), 5U);
  EXPECT_FALSE(views.stale());

  views.saw(6);  // a commit saw a change: the view is no longer served
  EXPECT_EQ(views.current(), nullptr);
  EXPECT_TRUE(views.stale());
  // A store put back to an older state (a file restored under the server) is another state
  // too: the view of the newer one must not be served.
  views.saw(4);
  EXPECT_EQ(views.current(), nullptr);
  views.saw(5);
  ASSERT_NE(views.current(), nullptr);

  views.saw(6);
  store_generation = 6;
  ASSERT_TRUE(views.refresh());
  ASSERT_NE(views.current(), nullptr);
  EXPECT_EQ(views.current()->generation(), 6U);
  EXPECT_EQ(loads, 2);
}

TEST(ReadViews, AFailedLoadKeepsServingNothing) {
  read_views views([]() -> result<std::shared_ptr<const read_view>> {
    return make_error_code(errc::storage_busy);
  });
  EXPECT_EQ(views.refresh().error(), errc::storage_busy);
  EXPECT_EQ(views.current(), nullptr);
}

// The club's reads from a view: the same message as from the store, its audit owed as of the
// view, and refused (stale, nothing written) once a change overtook the view.
TEST(ClubReadsFromAView, OweTheirAuditAsOfTheViewAndGoStaleAfterAChange) {
  testing::test_club c;
  c.add("alice", store::role::poster, "alice password");
  ASSERT_TRUE(c.domain.post("alice", "from memory"));
  auto view = c.domain.load_view().value();
  ASSERT_TRUE(view->newest());
  auto read = c.domain.read_newest(*view, "alice", "192.0.2.1").value();
  EXPECT_EQ(read.body.view(), "from memory");
  EXPECT_EQ(read.audit.as_of(), view->generation());
  EXPECT_TRUE(c.domain.commit_read_now(std::move(read.audit)));

  auto overtaken = c.domain.read_newest(*view, "alice", "192.0.2.1").value();
  ASSERT_TRUE(c.domain.post("alice", "a newer one"));
  EXPECT_EQ(c.domain.commit_read_now(std::move(overtaken.audit)).error(), errc::stale);
  const auto trail = c.domain.audit_trail(10).value();
  ASSERT_EQ(trail.size(), 1U);  // the stale read left nothing
  EXPECT_EQ(trail[0].remote, "192.0.2.1");

  const auto token = c.domain.create_token("laptop", "alice", 0).value();
  EXPECT_EQ(c.domain.member_by_token(*view, token.value.view()), nullptr);  // not in that view
  view = c.domain.load_view().value();
  ASSERT_NE(c.domain.member_by_token(*view, token.value.view()), nullptr);
  EXPECT_EQ(c.domain.read_newest(*view, "alice", "r").value().body.view(), "a newer one");
}

TEST(ClubReadsFromAView, AMessageWithTermsIsNeverServedFromMemory) {
  testing::test_club c;
  c.add("alice", store::role::poster, "alice password");
  ASSERT_TRUE(c.domain.post("alice", "for some eyes only"));
  auto snapshot = c.store.snapshot(c.clock.now_seconds()).value();
  ASSERT_TRUE(snapshot.newest);
  // The same message without terms is served: what refuses below is the terms.
  EXPECT_TRUE(c.domain.read_newest(read_view(snapshot), "alice", "r"));
  for (auto terms :
       {store::message_terms{0, 1, {}}, store::message_terms{c.clock.now_seconds() + 60, 0, {}},
        store::message_terms{0, 0, {store::recipient::to_role(store::role::admin)}}}) {
    snapshot.newest->terms = terms;
    EXPECT_EQ(c.domain.read_newest(read_view(snapshot), "alice", "r").error(), errc::not_found);
  }
}

TEST(ClubReadsFromAView, AnEmptyClubHasNothingToRead) {
  testing::test_club c;
  const auto view = c.domain.load_view().value();
  EXPECT_EQ(c.domain.read_newest(*view, "alice", "r").error(), errc::not_found);
}

}  // namespace
}  // namespace hush::club
