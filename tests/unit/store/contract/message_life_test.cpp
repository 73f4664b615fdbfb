// The contract of store/message_store.hpp for messages with a life (issue 16): terms kept and
// read back, expiry, recipients, counted reads that burn, the sweeper, and what moves the change
// generation; for every backend (store_contract.hpp).
#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/error.hpp"
#include "store/message_store.hpp"
#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {

TEST_P(MessageLifeContract, TermsAreKeptAndReadBackWithTheRecipientsNames) {
  const auto alice = join("alice", role::poster);
  const auto bob = join("bob");
  message_terms terms;
  terms.expires_at = 1000;
  terms.max_reads = 3;
  terms.to = {recipient::to_member(bob), recipient::to_role(role::admin)};
  const auto id = post("alice", terms);

  const auto check = [&](const message_terms& got, const char* where) {
    EXPECT_EQ(got.expires_at, 1000) << where;
    EXPECT_EQ(got.max_reads, 3U) << where;
    ASSERT_EQ(got.to.size(), 2U) << where;
    EXPECT_EQ(got.to[0].type, recipient::kind::member) << where;
    EXPECT_EQ(got.to[0].member, bob) << where;
    EXPECT_EQ(got.to[0].name, "bob") << where;
    EXPECT_EQ(got.to[1].type, recipient::kind::role) << where;
    EXPECT_EQ(got.to[1].member_role, role::admin) << where;
    EXPECT_TRUE(got.any()) << where;
  };
  const auto record = db.message(id, 10).value();
  check(record.terms, "message");
  EXPECT_EQ(record.reads, 0U);
  EXPECT_EQ(record.author_id, alice);
  check(db.newest_message(10).value().terms, "newest");
  check(db.message(id, as(bob, role::reader)).value().terms, "message as bob");
  const auto listed = db.list_messages(std::nullopt, 10, 10).value();
  ASSERT_EQ(listed.size(), 1U);
  check(listed[0].terms, "list");
  EXPECT_EQ(listed[0].author_id, alice);
  check(db.sealed_messages(std::nullopt, 10).value().at(0).terms, "sealed_messages");

  // No terms: none read back, and the author's id all the same.
  const auto plain = db.add_message("alice", 6, fixed_value({2})).value();
  const auto untermed = db.message(plain, 10).value();
  EXPECT_FALSE(untermed.terms.any());
  EXPECT_EQ(untermed.author_id, alice);
  // An author who is no member has no id.
  EXPECT_EQ(db.message(db.add_message("ghost", 7, fixed_value({3})).value(), 10).value().author_id,
            member_id{});
}

TEST_P(MessageLifeContract, TermsThatCannotHoldStoreNothing) {
  const auto bob = join("bob");
  const auto refused = [&](const message_terms& terms, std::error_code expected, const char* what) {
    const auto added = db.add_message("bob", 100, message_format::text, fixed_value({1}), terms);
    ASSERT_FALSE(added) << what;
    EXPECT_EQ(added.error(), expected) << what;
  };
  message_terms past;
  past.expires_at = 100;  // not after now
  refused(past, errc::invalid_argument, "expires at now");
  past.expires_at = 50;
  refused(past, errc::invalid_argument, "expired already");
  past.expires_at = -5;
  refused(past, errc::invalid_argument, "negative expiry");
  refused(to({recipient::to_member(bob), recipient::to_member(bob)}), errc::invalid_argument,
          "a member twice");
  refused(to({recipient::to_role(role::admin), recipient::to_role(role::admin)}),
          errc::invalid_argument, "a role twice");
  refused(to({recipient::to_member(member_id{})}), errc::invalid_argument, "member id 0");
  refused(to(std::vector<recipient>(max_recipients + 1, recipient::to_role(role::reader))),
          errc::invalid_argument, "too many");
  refused(to({recipient::to_role(role::admin), recipient::to_member(member_id{bob.value + 100})}),
          errc::not_found, "no such member");
  EXPECT_TRUE(db.list_messages(std::nullopt, 10, 0).value().empty());
  EXPECT_EQ(db.newest_message(0).error(), errc::not_found);
}

TEST_P(MessageLifeContract, AnExpiredMessageIsGoneForEveryone) {
  const auto bob = join("bob");
  const auto older = post("bob", {});
  message_terms terms;
  terms.expires_at = 100;
  const auto brief = post("bob", terms, 2);
  const auto me = [&](std::int64_t now) { return as(bob, role::reader, now); };

  EXPECT_EQ(db.newest_message(99).value().id, brief);
  EXPECT_EQ(db.newest_message(me(99)).value().id, brief);
  EXPECT_EQ(db.message(brief, 99).value().id, brief);
  EXPECT_EQ(db.list_messages(std::nullopt, 10, me(99)).value().size(), 2U);
  const auto before = db.snapshot(99).value().newest;
  ASSERT_TRUE(before);
  EXPECT_EQ(before->id, brief);
  EXPECT_EQ(before->terms.expires_at, 100);

  // At its expiry, and after: as if it never was, for the author too; the newest moves on.
  for (const std::int64_t now : {100, 1000}) {
    EXPECT_EQ(db.message(brief, now).error(), errc::not_found) << now;
    EXPECT_EQ(db.message(brief, me(now)).error(), errc::not_found) << now;
    EXPECT_EQ(db.claim_read(brief, me(now)).error(), errc::not_found) << now;
    EXPECT_EQ(db.newest_message(now).value().id, older) << now;
    EXPECT_EQ(db.newest_message(me(now)).value().id, older) << now;
    const auto listed = db.list_messages(std::nullopt, 10, now).value();
    ASSERT_EQ(listed.size(), 1U) << now;
    EXPECT_EQ(listed[0].id, older) << now;
    EXPECT_EQ(db.list_messages(std::nullopt, 10, me(now)).value().size(), 1U) << now;
    const auto view = db.snapshot(now).value().newest;
    ASSERT_TRUE(view) << now;
    EXPECT_EQ(view->id, older) << now;
  }
  // Still a row until swept: a data-key rotation reseals it like any other.
  EXPECT_EQ(db.sealed_messages(std::nullopt, 10).value().size(), 2U);
}

TEST_P(MessageLifeContract, OnlyTheRecipientsAndTheAuthorSeeAnAddressedMessage) {
  const auto alice = join("alice", role::poster);
  const auto bob = join("bob");
  const auto carol = join("carol");
  const auto dave = join("dave", role::admin);
  const auto everyone = post("alice", {});
  const auto addressed =
      post("alice", to({recipient::to_member(bob), recipient::to_role(role::admin)}), 2);

  for (const auto& [who, r, sees] :
       {std::tuple{alice, role::poster, true}, std::tuple{bob, role::reader, true},
        std::tuple{dave, role::admin, true}, std::tuple{carol, role::reader, false}}) {
    const auto v = as(who, r);
    const auto seen = db.message(addressed, v);
    EXPECT_EQ(static_cast<bool>(seen), sees) << who.value;
    if (!sees) {
      EXPECT_EQ(seen.error(), errc::not_found);
      EXPECT_EQ(db.claim_read(addressed, v).error(), errc::not_found);
    }
    EXPECT_EQ(db.newest_message(v).value().id, sees ? addressed : everyone) << who.value;
    EXPECT_EQ(db.list_messages(std::nullopt, 10, v).value().size(), sees ? 2U : 1U) << who.value;
  }
  // A role names whoever holds it now.
  ASSERT_TRUE(db.set_member_role("carol", role::admin));
  EXPECT_TRUE(db.message(addressed, as(carol, role::admin)));
  // The club's own tools see every message.
  EXPECT_EQ(db.newest_message(10).value().id, addressed);
  EXPECT_EQ(db.list_messages(std::nullopt, 10, 10).value().size(), 2U);
}

// The visibility is in the query: a reader's pages are full of what they may see, however many
// messages between are not for them, and "before" pages on past those too.
TEST_P(MessageLifeContract, KeysetPagesStayFullForAViewer) {
  join("alice", role::poster);
  const auto bob = join("bob");
  const auto carol = join("carol");
  std::vector<message_id> open;
  for (std::uint8_t i = 0; i < 9; ++i) {
    if (i % 3 == 0) {
      open.push_back(post("alice", {}, i));
    } else {
      post("alice", to({recipient::to_member(bob)}), i);
    }
  }
  const auto v = as(carol, role::reader);
  const auto first = db.list_messages(std::nullopt, 2, v).value();
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[0].id, open[2]);
  EXPECT_EQ(first[1].id, open[1]);
  const auto second = db.list_messages(first.back().id, 2, v).value();
  ASSERT_EQ(second.size(), 1U);
  EXPECT_EQ(second[0].id, open[0]);
  EXPECT_EQ(db.list_messages(std::nullopt, 100, as(bob, role::reader)).value().size(), 9U);
}

// Recipients and authors are members by id: one who leaves loses access at once, and whoever
// joins under the same name (in SQLite, maybe under the same id) inherits nothing. The message
// stays addressed (to "a member who has left"), never opens to the whole club.
TEST_P(MessageLifeContract, AMemberWhoLeavesLeavesNothingToANewcomerOfTheSameName) {
  join("admin", role::admin);
  const auto carol = join("carol");
  const auto alice = join("alice", role::poster);
  const auto bob = join("bob");  // the last: SQLite hands the largest rowid out again
  const auto id = post("alice", to({recipient::to_member(bob)}));
  ASSERT_TRUE(db.message(id, as(bob, role::reader)));

  ASSERT_TRUE(db.remove_member("bob", 20));
  const auto newcomer = join("bob");
  EXPECT_EQ(db.message(id, as(newcomer, role::reader)).error(), errc::not_found);
  EXPECT_EQ(db.message(id, as(carol, role::reader)).error(), errc::not_found);
  const auto record = db.message(id, 10).value();
  ASSERT_EQ(record.terms.to.size(), 1U);
  EXPECT_EQ(record.terms.to[0].type, recipient::kind::member);
  EXPECT_EQ(record.terms.to[0].member, member_id{});
  EXPECT_EQ(record.terms.to[0].name, "");

  // The author too: the message is nobody's own once they leave.
  ASSERT_TRUE(db.remove_member("alice", 30));
  const auto other_alice = join("alice", role::poster);
  EXPECT_EQ(db.message(id, 10).value().author_id, member_id{});
  EXPECT_EQ(db.message(id, as(other_alice, role::poster)).error(), errc::not_found);
  static_cast<void>(alice);
}

TEST_P(MessageLifeContract, ReadsAreCountedAndTheLastOneBurnsTheMessage) {
  const auto alice = join("alice", role::poster);
  const auto bob = join("bob");
  const auto carol = join("carol");
  message_terms terms;
  terms.max_reads = 2;
  const auto id = post("alice", terms, 42);
  const auto before = db.generation().value();

  const auto first = db.claim_read(id, as(bob, role::reader)).value();
  EXPECT_EQ(first.reads, 1U);
  EXPECT_EQ(first.sealed, std::vector<std::uint8_t>{42});
  EXPECT_EQ(db.message(id, 10).value().reads, 1U);
  // The author's reads (composing, reviewing) do not count.
  const auto own = db.claim_read(id, as(alice, role::poster)).value();
  EXPECT_EQ(own.reads, 1U);
  EXPECT_EQ(db.message(id, 10).value().reads, 1U);

  // The last read gets the whole record, and the message is gone in the same step.
  const auto last = db.claim_read(id, as(carol, role::reader)).value();
  EXPECT_EQ(last.reads, 2U);
  EXPECT_EQ(last.terms.max_reads, 2U);
  EXPECT_EQ(last.sealed, std::vector<std::uint8_t>{42});
  EXPECT_EQ(db.message(id, 10).error(), errc::not_found);
  EXPECT_EQ(db.claim_read(id, as(bob, role::reader)).error(), errc::not_found);
  EXPECT_EQ(db.claim_read(id, as(alice, role::poster)).error(), errc::not_found);
  EXPECT_TRUE(db.sealed_messages(std::nullopt, 10).value().empty());
  EXPECT_GT(db.generation().value(), before);
}

TEST_P(MessageLifeContract, AReadWithoutMaxReadsCountsNothing) {
  const auto bob = join("bob");
  const auto id = post("bob", to({recipient::to_role(role::reader)}));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(db.claim_read(id, as(bob, role::reader)).value().sealed,
              std::vector<std::uint8_t>{1});
  }
  EXPECT_EQ(db.message(id, 10).value().reads, 0U);
  EXPECT_EQ(db.claim_read(message_id{id.value + 1}, as(bob, role::reader)).error(),
            errc::not_found);
}

// Exactly max_reads claims succeed however many race for them, and the row is gone after.
TEST_P(MessageLifeContract, ExactlyMaxReadsClaimsSucceedUnderConcurrency) {
  constexpr int readers = 16;
  join("alice", role::poster);
  std::vector<member_id> ids;
  for (int i = 0; i < readers; ++i) {
    ids.push_back(join("reader" + std::to_string(i)));
  }
  message_terms terms;
  terms.max_reads = 3;
  const auto id = post("alice", terms, 7);
  std::atomic<int> succeeded{0};
  std::atomic<int> refused{0};
  std::atomic<int> failed{0};
  std::latch start(readers);
  {
    std::vector<std::jthread> racing;
    for (int i = 0; i < readers; ++i) {
      racing.emplace_back([&, i] {
        start.arrive_and_wait();
        const auto claimed = db.claim_read(id, viewer{ids[i], role::reader, 10});
        if (claimed) {
          EXPECT_EQ(claimed->sealed, std::vector<std::uint8_t>{7});
          ++succeeded;
        } else if (claimed.error() == errc::not_found) {
          ++refused;
        } else {
          ADD_FAILURE() << claimed.error().message();
          ++failed;
        }
      });
    }
  }
  EXPECT_EQ(succeeded.load(), 3);
  EXPECT_EQ(refused.load(), readers - 3);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(db.message(id, 10).error(), errc::not_found);
  EXPECT_TRUE(db.sealed_messages(std::nullopt, 10).value().empty());
}

TEST_P(MessageLifeContract, TheSweeperRemovesExpiredMessagesOldestFirstInBatches) {
  join("alice", role::poster);
  std::vector<message_id> expired;
  const auto lasting = post("alice", {});
  for (std::int64_t i = 0; i < 5; ++i) {
    message_terms terms;
    terms.expires_at = 50 - i;  // the oldest expire last: the order is by id
    expired.push_back(post("alice", terms, static_cast<std::uint8_t>(i)));
  }
  message_terms later;
  later.expires_at = 500;
  const auto pending = post("alice", later);
  const auto before = db.generation().value();

  EXPECT_EQ(db.remove_expired(100, 2).value(), 2U);
  EXPECT_GT(db.generation().value(), before);
  const auto left = db.sealed_messages(std::nullopt, 10).value();
  ASSERT_EQ(left.size(), 5U);
  EXPECT_EQ(left[0].id, lasting);
  EXPECT_EQ(left[1].id, expired[2]);
  EXPECT_EQ(db.remove_expired(100, 2).value(), 2U);
  EXPECT_EQ(db.remove_expired(100, 2).value(), 1U);
  EXPECT_EQ(db.remove_expired(100, 2).value(), 0U);
  const auto kept = db.sealed_messages(std::nullopt, 10).value();
  ASSERT_EQ(kept.size(), 2U);
  EXPECT_EQ(kept[0].id, lasting);
  EXPECT_EQ(kept[1].id, pending);
  EXPECT_EQ(db.remove_expired(100, 0).value(), 0U);
  EXPECT_EQ(db.remove_expired(500, 10).value(), 1U);
}

// What the change generation promises for messages with a life (view_store.hpp).
TEST_P(MessageLifeContract, TermsAndCountedReadsMoveTheGenerationAndTheSnapshotCarriesTerms) {
  const auto bob = join("bob");
  auto last = db.generation().value();
  const auto moved = [&](const char* what) {
    const auto now = db.generation().value();
    EXPECT_GT(now, last) << what;
    last = now;
  };
  message_terms terms;
  terms.max_reads = 5;
  terms.to = {recipient::to_member(bob)};
  const auto id = post("bob", terms);
  moved("add_message with terms");
  ASSERT_TRUE(db.claim_read(id, as(bob, role::reader)));
  EXPECT_EQ(db.generation().value(), last);  // the author's read changes nothing
  const auto carol = join("carol");
  last = db.generation().value();
  ASSERT_TRUE(db.set_member_role("carol", role::admin));
  last = db.generation().value();
  const auto other = post("bob", to({recipient::to_role(role::admin)}));
  moved("add_message to a role");
  ASSERT_TRUE(db.claim_read(other, as(carol, role::admin)));
  EXPECT_EQ(db.generation().value(), last);  // no max_reads: nothing counted
  ASSERT_TRUE(db.remove_member("bob", 40));
  moved("remove_member (a recipient and author)");

  const auto view = db.snapshot(10).value();
  ASSERT_TRUE(view.newest);
  EXPECT_EQ(view.newest->id, other);
  EXPECT_TRUE(view.newest->terms.any());
  ASSERT_EQ(view.newest->terms.to.size(), 1U);
  EXPECT_EQ(view.newest->terms.to[0].member_role, role::admin);
}

TEST_P(MessageLifeContract, ACountedReadMovesTheGeneration) {
  join("alice", role::poster);
  const auto bob = join("bob");
  message_terms terms;
  terms.max_reads = 5;
  const auto id = post("alice", terms);
  const auto before = db.generation().value();
  ASSERT_EQ(db.claim_read(id, as(bob, role::reader)).value().reads, 1U);
  EXPECT_GT(db.generation().value(), before);
}

}  // namespace hush::store::contract
