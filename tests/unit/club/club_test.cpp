#include "club/club.hpp"

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "core/error.hpp"
#include "crypto/fernet.hpp"
#include "support/fernet_token.hpp"
#include "support/test_club.hpp"

namespace hush::club {
namespace {

using store::role;

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every post names a member as its author: the ones these tests post as.
// Authors, and readers: a member's read sees only what a member may (the store's viewer).
void add_authors(testing::test_club& c) {
  for (const char* name : {"alice", "bob", "a"}) {
    c.add(name, role::poster, "an author's long password");
  }
  for (const char* name : {"carol", "dave", "x"}) {
    c.add(name, role::reader, "a reader's long password");
  }
}

TEST(Roles, WhoMayDoWhat) {
  EXPECT_FALSE(may_post(role::reader));
  EXPECT_TRUE(may_post(role::poster));
  EXPECT_TRUE(may_post(role::admin));
  EXPECT_FALSE(may_delete(role::reader, false));
  EXPECT_FALSE(may_delete(role::poster, false));
  EXPECT_TRUE(may_delete(role::admin, false));
  // Their own message: a poster may, a reader (say, a poster since demoted) may not.
  EXPECT_FALSE(may_delete(role::reader, true));
  EXPECT_TRUE(may_delete(role::poster, true));
  EXPECT_TRUE(may_delete(role::admin, true));
}

TEST(MemberNames, Validation) {
  EXPECT_TRUE(valid_member_name("alice"));
  EXPECT_TRUE(valid_member_name("A.b_c-9"));
  EXPECT_TRUE(valid_member_name(std::string(64, 'a')));
  EXPECT_FALSE(valid_member_name(std::string(65, 'a')));
  EXPECT_FALSE(valid_member_name(""));
  EXPECT_FALSE(valid_member_name("al:ice"));
  EXPECT_FALSE(valid_member_name("al ice"));
  EXPECT_FALSE(valid_member_name("alice\n"));
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92"));
  EXPECT_FALSE(valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\xff"));
}

TEST(Club, ReadsCarryTheAuditRecordTheyOwe) {
  testing::test_club c;
  add_authors(c);
  const auto first = c.domain.post("alice", "first secret").value();
  const auto second = c.domain.post("bob", "second secret").value();
  EXPECT_GT(second.value, first.value);

  const auto newest = c.domain.read_newest("carol", "192.0.2.1").value();
  EXPECT_EQ(newest.id, second);
  EXPECT_EQ(newest.author, "bob");
  EXPECT_EQ(newest.body.view(), "second secret");
  EXPECT_EQ(newest.audit.record().member, "carol");
  EXPECT_EQ(newest.audit.record().message, second);
  EXPECT_EQ(newest.audit.record().remote, "192.0.2.1");
  EXPECT_EQ(newest.audit.record().at, c.clock.now);

  const auto older = c.domain.read(first, "dave", "::1").value();
  EXPECT_EQ(older.body.view(), "first secret");
  EXPECT_EQ(older.audit.record().member, "dave");
  EXPECT_EQ(older.audit.record().message, first);
  // Committing the records is the caller's part (the server batches them).
  EXPECT_TRUE(c.store.list_audit(10).value().empty());
}

TEST(Club, RefusesEmptyOversizedAndNonUtf8) {
  testing::test_club c(16);
  add_authors(c);
  EXPECT_EQ(c.domain.post("a", "").error(), errc::invalid_argument);
  EXPECT_EQ(c.domain.post("a", "\xff").error(), errc::invalid_argument);
  EXPECT_EQ(c.domain.post("a", std::string(17, 'x')).error(), errc::too_large);
  EXPECT_TRUE(c.domain.post("a", std::string(16, 'x')));
}

TEST(Club, EmptyClubHasNoNewest) {
  testing::test_club c;
  add_authors(c);
  EXPECT_EQ(c.domain.read_newest("a", "r").error(), errc::not_found);
  EXPECT_TRUE(c.store.list_audit(10).value().empty());
}

TEST(Club, PlaintextNeverReachesTheDatabaseFile) {
  testing::test_club c;
  add_authors(c);
  const std::string secret = "zebra-crossing-at-0300-unique-marker";
  ASSERT_TRUE(c.domain.post("alice", secret));
  ASSERT_TRUE(c.domain.read_newest("alice", "r"));
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const auto path = c.db_path.string() + suffix;
    if (std::filesystem::exists(path)) {
      EXPECT_EQ(file_bytes(path).find(secret), std::string::npos) << path;
    }
  }
}

TEST(Club, FernetMessagesAreStoredAsTheTokenAndMarked) {
  testing::test_club c;
  add_authors(c);
  const auto key = crypto::fernet::parse_key(crypto::fernet::generate_key().view()).value();
  const std::string plain = "only-key-holders-read-this";
  const auto token =
      crypto::fernet::encrypt(
          key, std::span(reinterpret_cast<const std::uint8_t*>(plain.data()), plain.size()), 1)
          .value();
  const auto id = c.domain.post_fernet("alice", token).value();
  const auto read = c.domain.read(id, "bob", "r").value();
  EXPECT_EQ(read.format, store::message_format::fernet);
  EXPECT_EQ(read.body.view(), token);
  EXPECT_EQ(read.audit.record().member, "bob");
  EXPECT_EQ(c.domain.list(std::nullopt, 10).value()[0].format, store::message_format::fernet);
  // Sealed at rest like any body: not even the token is in the file.
  EXPECT_EQ(file_bytes(c.db_path).find(token.substr(0, 20)), std::string::npos);
}

TEST(Club, FernetPostsMustLookLikeTokensWithinTheLimit) {
  testing::test_club c(/*max_message_bytes=*/32);
  add_authors(c);
  const auto key = crypto::fernet::parse_key(crypto::fernet::generate_key().view()).value();
  const auto sized = [&](std::size_t n) {
    const std::string plain(n, 'x');
    return crypto::fernet::encrypt(
               key, std::span(reinterpret_cast<const std::uint8_t*>(plain.data()), n), 1)
        .value();
  };
  EXPECT_TRUE(c.domain.post_fernet("alice", sized(32)));
  EXPECT_EQ(c.domain.post_fernet("alice", sized(48)).error(), errc::too_large);
  EXPECT_EQ(c.domain.post_fernet("alice", "plain text").error(), errc::invalid_argument);
  EXPECT_EQ(c.domain.post_fernet("alice", "").error(), errc::invalid_argument);
  auto unpadded = sized(1);
  unpadded.pop_back();
  EXPECT_EQ(c.domain.post_fernet("alice", unpadded).error(), errc::invalid_argument);
  EXPECT_EQ(c.domain.read_newest("x", "r").value().format, store::message_format::fernet);
  ASSERT_TRUE(c.domain.post("alice", "text again"));
  EXPECT_EQ(c.domain.read_newest("x", "r").value().format, store::message_format::text);
}

TEST(Club, SealedBodyIsBoundToItsMessageId) {
  testing::test_club c;
  add_authors(c);
  const auto a = c.domain.post("alice", "for message a").value();
  const auto b = c.domain.post("alice", "for message b").value();
  // Someone with write access to the database moves b's ciphertext into a's row.
  const auto b_sealed = c.store.message(b, 0).value().sealed;
  ASSERT_TRUE(c.store.remove_message(a));
  // Recreate a row and plant b's envelope in it.
  const auto planted =
      c.store
          .add_message("alice", 1,
                       [&](std::int64_t) -> result<std::vector<std::uint8_t>> { return b_sealed; })
          .value();
  EXPECT_EQ(c.domain.read(planted, "x", "r").error(), errc::crypto_failure);
  EXPECT_EQ(c.domain.read(b, "x", "r").value().body.view(), "for message b");
}

TEST(Club, AnotherMasterKeyOpensNothing) {
  testing::test_club c;
  add_authors(c);
  const auto id = c.domain.post("alice", "secret").value();
  keyring other(testing::random_master_key(), c.store);
  const auto record = c.store.message(id, 0).value();
  EXPECT_EQ(other.open(record.sealed, message_context(id)).error(), errc::crypto_failure);
}

// Changes a message row behind the store's back, as someone with write access to the file could.
void tamper(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  const int changed = sqlite3_changes(db);
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
  ASSERT_EQ(changed, 1) << sql;
}

TEST(Club, NewBodiesAreSealedWithTheirMetadata) {
  testing::test_club c;
  add_authors(c);
  const auto id = c.domain.post("alice", "bound").value();
  const auto record = c.store.message(id, 0).value();
  EXPECT_EQ(record.sealed[0], crypto::envelope::version_2);
  EXPECT_EQ(c.domain.read(id, "x", "r").value().body.view(), "bound");
}

TEST(Club, ChangedAuthorTimeOrFormatMakesTheReadFail) {
  testing::test_club c;
  add_authors(c);
  const auto token = testing::fernet_token("e2e");
  const auto by_author = c.domain.post("alice", "whose?").value();
  const auto by_time = c.domain.post("alice", "when?").value();
  const auto by_format = c.domain.post_fernet("alice", token).value();
  const auto untouched = c.domain.post("alice", "left alone").value();
  const auto where = [](store::message_id id) { return " WHERE id = " + std::to_string(id.value); };
  tamper(c.db_path, "UPDATE messages SET author = 'mallory'" + where(by_author));
  tamper(c.db_path, "UPDATE messages SET created_at = created_at - 86400" + where(by_time));
  tamper(c.db_path, "UPDATE messages SET format = 'text'" + where(by_format));
  EXPECT_EQ(c.domain.read(by_author, "x", "r").error(), errc::crypto_failure);
  EXPECT_EQ(c.domain.read(by_time, "x", "r").error(), errc::crypto_failure);
  EXPECT_EQ(c.domain.read(by_format, "x", "r").error(), errc::crypto_failure);
  EXPECT_EQ(c.domain.read(untouched, "x", "r").value().body.view(), "left alone");
}

TEST(Club, VersionOneBodiesStillOpen) {
  testing::test_club c;
  add_authors(c);
  // A body as hush sealed it before the metadata was bound: context = the id alone.
  const std::string plain = "sealed by an older hush";
  const auto id =
      c.store
          .add_message(
              "alice", c.clock.now_seconds(),
              [&](std::int64_t row) {
                return c.keys.seal(
                    std::span(reinterpret_cast<const std::uint8_t*>(plain.data()), plain.size()),
                    message_context(store::message_id{row}), crypto::envelope::version_1);
              })
          .value();
  ASSERT_EQ(c.store.message(id, 0).value().sealed[0], crypto::envelope::version_1);
  EXPECT_EQ(c.domain.read(id, "x", "r").value().body.view(), plain);
}

TEST(Club, AVersionTwoBodyCannotPassAsVersionOne) {
  testing::test_club c;
  add_authors(c);
  const auto id = c.domain.post("alice", "no downgrade").value();
  // Rewriting the version byte would make the reader use the weaker context; the byte is
  // authenticated, so the envelope no longer opens at all.
  tamper(c.db_path, "UPDATE messages SET sealed = x'01' || substr(sealed, 2) WHERE id = " +
                        std::to_string(id.value));
  EXPECT_EQ(c.store.message(id, 0).value().sealed[0], crypto::envelope::version_1);
  EXPECT_EQ(c.domain.read(id, "x", "r").error(), errc::crypto_failure);
}

TEST(Club, MetadataContextsAreDistinct) {
  const store::message_summary base{store::message_id{7}, "ab", 100, store::message_format::text};
  auto other_author = base;
  other_author.author = "a";
  auto other_time = base;
  other_time.created_at = 101;
  auto other_format = base;
  other_format.format = store::message_format::fernet;
  auto other_id = base;
  other_id.id = store::message_id{8};
  for (const auto& row : {other_author, other_time, other_format, other_id}) {
    EXPECT_NE(message_context(row), message_context(base));
  }
  EXPECT_NE(message_context(base), message_context(base.id));
}

TEST(KeyCheck, RecordedOnFirstOpenThenDecides) {
  testing::test_club c;
  add_authors(c);
  const auto id = c.domain.post("alice", "secret").value();
  EXPECT_EQ(c.store.club_meta(key_check_name).error(), errc::not_found);
  // A club from before key checks: the newest data key unwraps, so the check is recorded.
  ASSERT_TRUE(c.keys.verify_master_key());
  EXPECT_EQ(c.store.club_meta(key_check_name).value().size(), 32U);
  ASSERT_TRUE(c.keys.verify_master_key());

  keyring other(testing::random_master_key(), c.store);
  EXPECT_EQ(other.verify_master_key().error(), errc::crypto_failure);
  EXPECT_EQ(c.domain.read(id, "x", "r").value().body.view(), "secret");
}

TEST(KeyCheck, AWrongKeyIsRefusedBeforeAnyCheckIsRecorded) {
  testing::test_club c;
  add_authors(c);
  keyring other(testing::random_master_key(), c.store);
  EXPECT_EQ(other.verify_master_key().error(), errc::crypto_failure);
  // ... and records nothing, so the right key still gets in.
  EXPECT_EQ(c.store.club_meta(key_check_name).error(), errc::not_found);
  EXPECT_TRUE(c.keys.verify_master_key());
}

TEST(KeyCheck, ANewClubTakesTheKeyItIsMadeWith) {
  testing::temp_dir dir;
  store::sqlite_store db(testing::make_database(dir));
  keyring keys(testing::random_master_key(), db);
  ASSERT_TRUE(keys.verify_master_key());
  ASSERT_TRUE(db.club_meta(key_check_name));
  keyring other(testing::random_master_key(), db);
  EXPECT_EQ(other.verify_master_key().error(), errc::crypto_failure);
}

TEST(KeyCheck, DependsOnTheKey) {
  const auto a = testing::random_master_key();
  const auto b = testing::random_master_key();
  EXPECT_EQ(key_check(a.span()), key_check(a.span()));
  EXPECT_NE(key_check(a.span()), key_check(b.span()));
}

TEST(Club, AnAuthorMustBeAMember) {
  testing::test_club c;
  EXPECT_EQ(c.domain.post("nobody", "from nobody").error(), errc::not_found);
  const auto token = crypto::fernet::encrypt(
      crypto::fernet::parse_key(crypto::fernet::generate_key().view()).value(),
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>("x"), 1), 1);
  EXPECT_EQ(c.domain.post_fernet("nobody", token.value()).error(), errc::not_found);
  EXPECT_EQ(c.domain.list(std::nullopt, 10).value().size(), 0U);
  c.add("somebody", role::poster, "somebody's long password");
  EXPECT_TRUE(c.domain.post("somebody", "from somebody"));
}

TEST(Club, MembersAndPasswords) {
  testing::test_club c;
  EXPECT_EQ(c.domain.add_member("bad name", role::reader, "long enough password").error(),
            errc::invalid_argument);
  EXPECT_EQ(c.domain.add_member("alice", role::reader, "short").error(), errc::invalid_argument);
  ASSERT_TRUE(c.domain.add_member("alice", role::poster, "long enough password"));
  EXPECT_EQ(c.domain.add_member("alice", role::reader, "long enough password").error(),
            errc::already_exists);
  const auto hash = c.store.find_member("alice").value().password_hash;
  EXPECT_TRUE(c.hasher.verify(hash, "long enough password"));
  ASSERT_TRUE(c.domain.set_password("alice", "another long password"));
  EXPECT_TRUE(
      c.hasher.verify(c.store.find_member("alice").value().password_hash, "another long password"));
  EXPECT_EQ(c.domain.set_password("nobody", "another long password").error(), errc::not_found);
}

TEST(Club, APasswordChangeEndsEverySessionAndStartsANewOneWhenAsked) {
  testing::test_club c;
  c.add("alice", role::poster, "long enough password");
  const store::session_limits limits{3600, 86400, 0};
  const auto verified = c.store.find_member("alice").value().password_hash;
  const auto first = c.domain.start_session("alice", verified, limits).value();
  const auto second = c.domain.start_session("alice", verified, limits).value();
  // A session only for the hash the member has: a password verified against another is stale.
  EXPECT_EQ(c.domain.start_session("alice", "$argon2id$stale", limits).error(), errc::conflict);

  // Made in a session: every session ends, that one too, and a new one takes its place.
  auto changed = c.domain.change_password("alice", verified, "another long password", limits);
  ASSERT_TRUE(changed);
  ASSERT_TRUE(changed->has_value());
  EXPECT_EQ(c.domain.member_by_session(first.view(), limits).error(), errc::not_found);
  EXPECT_EQ(c.domain.member_by_session(second.view(), limits).error(), errc::not_found);
  EXPECT_EQ(c.domain.member_by_session((*changed)->view(), limits).value().name, "alice");
  const auto now = c.store.find_member("alice").value().password_hash;
  EXPECT_TRUE(c.hasher.verify(now, "another long password"));

  // A change that verified the hash replaced since is refused, and changes nothing.
  EXPECT_EQ(c.domain.change_password("alice", verified, "a third long password", limits).error(),
            errc::conflict);
  EXPECT_EQ(c.store.find_member("alice").value().password_hash, now);
  EXPECT_EQ(c.domain.member_by_session((*changed)->view(), limits).value().name, "alice");

  // Without a session to replace (Basic, Bearer), every session ends and none starts.
  auto plain = c.domain.change_password("alice", now, "a third long password", std::nullopt);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->has_value());
  EXPECT_EQ(c.domain.member_by_session((*changed)->view(), limits).error(), errc::not_found);

  // The operator's reset (hush member passwd) needs no hash, and ends every session too.
  const auto third =
      c.domain.start_session("alice", c.store.find_member("alice").value().password_hash, limits)
          .value();
  ASSERT_TRUE(c.domain.set_password("alice", "a fourth long password"));
  EXPECT_EQ(c.domain.member_by_session(third.view(), limits).error(), errc::not_found);
  // The size rule holds whoever asks.
  EXPECT_EQ(c.domain.set_password("alice", "short").error(), errc::invalid_argument);
  EXPECT_EQ(c.domain.change_password("alice", now, "short", limits).error(),
            errc::invalid_argument);
}

TEST(Club, APosterRemovesTheirOwnMessagesAndAnAdminAny) {
  testing::test_club c;
  c.add("paul", role::poster, "paul's long password");
  c.add("pia", role::poster, "pia's long password");
  c.add("rita", role::reader, "rita's long password");
  c.add("ada", role::admin, "ada's long password");
  const auto pauls = c.domain.post("paul", "paul's").value();
  const auto pias = c.domain.post("pia", "pia's").value();
  EXPECT_EQ(c.domain.remove(pias, "paul").error(), errc::forbidden);
  EXPECT_EQ(c.domain.remove(pauls, "rita").error(), errc::forbidden);
  EXPECT_EQ(c.domain.remove(pauls, "nobody").error(), errc::not_found);
  EXPECT_EQ(c.domain.remove(store::message_id{999}, "ada").error(), errc::not_found);
  EXPECT_EQ(c.domain.list(std::nullopt, 10).value().size(), 2U);
  EXPECT_TRUE(c.domain.remove(pauls, "paul"));
  EXPECT_TRUE(c.domain.remove(pias, "ada"));
  EXPECT_EQ(c.domain.list(std::nullopt, 10).value().size(), 0U);
}

}  // namespace
}  // namespace hush::club
