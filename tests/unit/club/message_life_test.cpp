// Messages with a life, through the club (the use cases every door calls): expiry, reads used
// up, recipients and receipts, on a real SQLite store. The store's own contract (exact counts
// under racing threads, on every backend) is tests/unit/store's.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "club/club.hpp"
#include "core/error.hpp"
#include "support/fernet_token.hpp"
#include "support/test_club.hpp"

namespace hush::club {
namespace {

using store::role;

struct life_club : testing::test_club {
  life_club() {
    add("alice", role::poster, "alice's long password");
    add("bob", role::reader, "bob's long password");
    add("carol", role::reader, "carol's long password");
    add("root", role::admin, "root's long password");
  }

  store::message_id post(const std::string& body, const message_life& life,
                         const std::string& author = "alice") {
    return domain.post(author, body, life).value();
  }
  std::string newest_for(std::string_view reader) {
    auto read = domain.read_newest(reader, "r");
    return read ? std::string(read->body.view()) : "(" + read.error().message() + ")";
  }
  std::vector<std::int64_t> listed_for(std::string_view reader) {
    std::vector<std::int64_t> ids;
    for (const auto& m : domain.list(std::nullopt, 100, reader).value()) {
      ids.push_back(m.id.value);
    }
    return ids;
  }
};

message_life expiring_in(std::int64_t seconds) {
  message_life life;
  life.expires_in = seconds;
  return life;
}

message_life burning_after(std::uint32_t reads) {
  message_life life;
  life.max_reads = reads;
  return life;
}

message_life addressed_to(std::vector<std::string> to) {
  message_life life;
  life.to = std::move(to);
  return life;
}

TEST(MessageLife, TheRulesSayWhatIsWrong) {
  EXPECT_EQ(life_problem({}), "");
  EXPECT_EQ(life_problem(expiring_in(max_expires_in_seconds)), "");
  EXPECT_NE(life_problem(expiring_in(max_expires_in_seconds + 1)), "");
  EXPECT_NE(life_problem(expiring_in(-1)), "");
  EXPECT_NE(life_problem(burning_after(max_reads_limit + 1)), "");
  EXPECT_EQ(life_problem(addressed_to({"bob", "role:admin"})), "");
  EXPECT_NE(life_problem(addressed_to({"bob", "bob"})), "");
  EXPECT_NE(life_problem(addressed_to({"role:king"})), "");
  EXPECT_NE(life_problem(addressed_to({"not a name"})), "");
  EXPECT_NE(life_problem(addressed_to({""})), "");
  EXPECT_NE(life_problem(addressed_to(std::vector<std::string>(store::max_recipients + 1, "x"))),
            "");
  const auto role = parse_recipient("role:poster");
  ASSERT_TRUE(role);
  EXPECT_TRUE(role->is_role);
  EXPECT_EQ(role->member_role, store::role::poster);
}

TEST(MessageLife, AnExpiredMessageIsGoneForEveryReadAndThenSwept) {
  life_club c;
  const auto older = c.post("older", {});
  const auto brief = c.post("brief", expiring_in(60));
  EXPECT_EQ(c.newest_for("bob"), "brief");
  c.clock.now += 59;
  EXPECT_EQ(c.domain.read(brief, "bob", "r").value().body.view(), "brief");
  c.clock.now += 1;
  // Gone at its expiry, swept or not: GET / moves on to the newest still visible.
  EXPECT_EQ(c.domain.read(brief, "bob", "r").error(), errc::not_found);
  EXPECT_EQ(c.domain.read_as_operator(brief, "(cli)", "local").error(), errc::not_found);
  EXPECT_EQ(c.newest_for("bob"), "older");
  EXPECT_EQ(c.listed_for("alice"), std::vector<std::int64_t>{older.value});
  EXPECT_EQ(c.domain.list(std::nullopt, 10).value().size(), 1U);
  // The sweep removes the row (and wipes its bytes, as a removal does).
  EXPECT_EQ(c.domain.sweep_expired(10).value(), 1U);
  EXPECT_EQ(c.domain.sweep_expired(10).value(), 0U);
  EXPECT_EQ(c.store.sealed_messages(std::nullopt, 10).value().size(), 1U);
}

TEST(MessageLife, ExactlyTheAllowedReadsSucceedAndTheAuthorsDoNotCount) {
  life_club c;
  const auto older = c.post("older", {});
  const auto once = c.post("read me once", burning_after(1));
  // The author reading back what they posted uses nothing up.
  EXPECT_EQ(c.newest_for("alice"), "read me once");
  EXPECT_EQ(c.domain.read(once, "alice", "r").value().reads, 0U);
  const auto read = c.domain.read(once, "bob", "r").value();
  EXPECT_EQ(read.body.view(), "read me once");
  EXPECT_EQ(read.reads, 1U);
  EXPECT_EQ(c.domain.read(once, "carol", "r").error(), errc::not_found);
  EXPECT_EQ(c.domain.read(once, "alice", "r").error(), errc::not_found);
  EXPECT_EQ(c.newest_for("carol"), "older");
  EXPECT_EQ(c.domain.list(std::nullopt, 10).value().front().id, older);
}

TEST(MessageLife, AReadThatShowsNoBodyUsesNothingUp) {
  life_club c;
  const auto once = c.post("once", burning_after(1));
  const read_options head{false, true};
  const read_options token_only{true, false};
  EXPECT_EQ(c.domain.read(once, "bob", "r", head).value().reads, 0U);
  EXPECT_EQ(c.domain.read_newest("bob", "r", head).value().reads, 0U);
  // A text message asked for as a Fernet token is refused before any claim.
  EXPECT_EQ(c.domain.read(once, "bob", "r", token_only).error(), errc::invalid_argument);
  EXPECT_EQ(c.domain.read_newest("bob", "r", token_only).error(), errc::invalid_argument);
  EXPECT_EQ(c.domain.read(once, "carol", "r").value().reads, 1U);
  EXPECT_EQ(c.domain.read(once, "bob", "r", head).error(), errc::not_found);
}

TEST(MessageLife, GetNewestMovesPastAMessageUsedUpMeanwhile) {
  life_club c;
  c.post("older", {});
  c.post("twice", burning_after(2));
  EXPECT_EQ(c.newest_for("bob"), "twice");
  EXPECT_EQ(c.newest_for("carol"), "twice");
  EXPECT_EQ(c.newest_for("root"), "older");
}

TEST(MessageLife, RacingReadersGetExactlyTheAllowedReads) {
  life_club c;
  const auto id = c.post("three times", burning_after(3));
  constexpr int readers = 12;
  std::atomic<int> succeeded{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i) {
    threads.emplace_back([&c, &succeeded, &refused, id, i] {
      auto read = c.domain.read(id, i % 2 == 0 ? "bob" : "carol", "r");
      (read ? succeeded : refused)++;
      if (!read) {
        EXPECT_EQ(read.error(), errc::not_found);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(succeeded.load(), 3);
  EXPECT_EQ(refused.load(), readers - 3);
}

TEST(MessageLife, OnlyRecipientsAndTheAuthorSeeAMessageAnywhere) {
  life_club c;
  const auto open = c.post("for everyone", {});
  const auto to_bob = c.post("for bob", addressed_to({"bob"}));
  for (const char* outsider : {"carol", "root"}) {
    EXPECT_EQ(c.domain.read(to_bob, outsider, "r").error(), errc::not_found) << outsider;
    EXPECT_EQ(c.newest_for(outsider), "for everyone") << outsider;
    EXPECT_EQ(c.listed_for(outsider), std::vector<std::int64_t>{open.value}) << outsider;
  }
  // Nor its receipts, nor removing it: an admin who is not a recipient included.
  EXPECT_EQ(c.domain.reads_of(to_bob, "carol", 10).error(), errc::not_found);
  EXPECT_EQ(c.domain.reads_of(to_bob, "root", 10).error(), errc::not_found);
  EXPECT_EQ(c.domain.remove(to_bob, "root").error(), errc::not_found);
  EXPECT_TRUE(c.domain.reads_of(to_bob, 10));
  EXPECT_EQ(c.newest_for("bob"), "for bob");
  EXPECT_EQ(c.newest_for("alice"), "for bob");
  EXPECT_EQ(c.listed_for("bob"), (std::vector<std::int64_t>{to_bob.value, open.value}));
  // A poster who is not a recipient cannot remove it either: to them it does not exist.
  c.add("dave", role::poster, "dave's long password");
  EXPECT_EQ(c.domain.remove(to_bob, "dave").error(), errc::not_found);
}

TEST(MessageLife, ARoleReachesItsMembersAsTheyAreNow) {
  life_club c;
  const auto id = c.post("for admins", addressed_to({"role:admin"}));
  EXPECT_EQ(c.domain.read(id, "root", "r").value().body.view(), "for admins");
  EXPECT_EQ(c.domain.read(id, "bob", "r").error(), errc::not_found);
  ASSERT_TRUE(c.domain.set_role("bob", role::admin));
  EXPECT_EQ(c.domain.read(id, "bob", "r").value().body.view(), "for admins");
  ASSERT_TRUE(c.domain.set_role("root", role::reader));
  EXPECT_EQ(c.domain.read(id, "root", "r").error(), errc::not_found);
}

TEST(MessageLife, ARemovedRecipientLosesAccessAndANewcomerUnderTheNameGetsNone) {
  life_club c;
  const auto id = c.post("for carol", addressed_to({"carol"}));
  ASSERT_TRUE(c.domain.remove_member("carol"));
  c.add("carol", role::reader, "another carol's password");
  EXPECT_EQ(c.domain.read(id, "carol", "r").error(), errc::not_found);
  EXPECT_EQ(c.domain.read(id, "bob", "r").error(), errc::not_found);
  EXPECT_EQ(c.domain.read(id, "alice", "r").value().body.view(), "for carol");
}

TEST(MessageLife, AnUnknownRecipientIsRefusedAndNamed) {
  life_club c;
  const auto life = addressed_to({"bob", "nobody"});
  EXPECT_EQ(c.domain.post("alice", "x", life).error(), errc::not_found);
  EXPECT_EQ(c.domain.unknown_recipient(life), "nobody");
  EXPECT_EQ(c.domain.unknown_recipient(addressed_to({"bob", "role:admin"})), std::nullopt);
  EXPECT_EQ(c.domain.post("alice", "x", addressed_to({"bob", "bob"})).error(),
            errc::invalid_argument);
  EXPECT_TRUE(c.domain.list(std::nullopt, 10).value().empty());
}

TEST(MessageLife, ReceiptsAreForTheAuthorAndAdmins) {
  life_club c;
  const auto id = c.post("receipted", {});
  for (const char* reader : {"bob", "carol"}) {
    auto read = c.domain.read(id, reader, "192.0.2.9").value();
    ASSERT_TRUE(c.domain.commit_read_now(std::move(read.audit)));
  }
  const auto seen = c.domain.reads_of(id, "alice", 10).value();
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0].member, "bob");
  EXPECT_EQ(seen[1].member, "carol");
  EXPECT_EQ(c.domain.reads_of(id, "root", 10).value().size(), 2U);
  EXPECT_EQ(c.domain.reads_of(id, "bob", 10).error(), errc::forbidden);
  // Gone: only the operator's receipts outlive it.
  ASSERT_TRUE(c.domain.remove(id));
  EXPECT_EQ(c.domain.reads_of(id, "root", 10).error(), errc::not_found);
  EXPECT_EQ(c.domain.reads_of(id, "alice", 10).error(), errc::not_found);
  EXPECT_EQ(c.domain.reads_of(id, 10).value().size(), 2U);
}

TEST(MessageLife, ANewcomerUnderAnAuthorsNameIsNotTheirAuthor) {
  life_club c;
  const auto id = c.post("alice's", {});
  ASSERT_TRUE(c.domain.remove_member("alice"));
  c.add("alice", role::poster, "the new alice's password");
  EXPECT_EQ(c.domain.remove(id, "alice").error(), errc::forbidden);
  EXPECT_EQ(c.domain.reads_of(id, "alice", 10).error(), errc::forbidden);
  EXPECT_TRUE(c.domain.remove(id, "root"));
}

// Changes a message row behind the store's back, as someone with write access to the file could.
void tamper(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_changes(db), 1);
  sqlite3_close(db);
}

TEST(MessageLife, ALifeLengthenedInTheDatabaseNoLongerOpens) {
  life_club c;
  const auto brief = c.post("brief", expiring_in(60));
  const auto once = c.post("once", burning_after(1));
  const auto where = [](store::message_id id) { return " WHERE id = " + std::to_string(id.value); };
  tamper(c.db_path, "UPDATE messages SET expires_at = expires_at + 86400" + where(brief));
  tamper(c.db_path, "UPDATE messages SET max_reads = 1000" + where(once));
  EXPECT_EQ(c.domain.read(brief, "bob", "r").error(), errc::crypto_failure);
  EXPECT_EQ(c.domain.read(once, "alice", "r").error(), errc::crypto_failure);
}

TEST(MessageLife, EndToEndMessagesHaveTheirLifeToo) {
  life_club c;
  const auto token = testing::fernet_token("e2e");
  auto life = burning_after(1);
  life.to = {"bob"};
  const auto id = c.domain.post_fernet("alice", token, life);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(c.domain.read(*id, "carol", "r").error(), errc::not_found);
  EXPECT_EQ(c.domain.read(*id, "bob", "r").value().format, store::message_format::fernet);
  EXPECT_EQ(c.domain.read(*id, "bob", "r").error(), errc::not_found);
}

}  // namespace
}  // namespace hush::club
