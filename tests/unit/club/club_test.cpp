#include "club/club.hpp"

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "crypto/fernet.hpp"
#include "support/test_club.hpp"

namespace hush::club {
namespace {

using store::role;

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Roles, WhoMayDoWhat) {
  EXPECT_FALSE(may_post(role::reader));
  EXPECT_TRUE(may_post(role::poster));
  EXPECT_TRUE(may_post(role::admin));
  EXPECT_FALSE(may_delete(role::reader));
  EXPECT_FALSE(may_delete(role::poster));
  EXPECT_TRUE(may_delete(role::admin));
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
  const auto first = c.domain.post("alice", "first secret").value();
  const auto second = c.domain.post("bob", "second secret").value();
  EXPECT_GT(second.value, first.value);

  const auto newest = c.domain.read_newest("carol", "192.0.2.1").value();
  EXPECT_EQ(newest.id, second);
  EXPECT_EQ(newest.author, "bob");
  EXPECT_EQ(newest.body.view(), "second secret");
  EXPECT_EQ(newest.audit.member, "carol");
  EXPECT_EQ(newest.audit.message, second);
  EXPECT_EQ(newest.audit.remote, "192.0.2.1");
  EXPECT_EQ(newest.audit.at, c.clock.now);

  const auto older = c.domain.read(first, "dave", "::1").value();
  EXPECT_EQ(older.body.view(), "first secret");
  EXPECT_EQ(older.audit.member, "dave");
  EXPECT_EQ(older.audit.message, first);
  // Committing the records is the caller's part (the server batches them).
  EXPECT_TRUE(c.store.list_audit(10).value().empty());
}

TEST(Club, RefusesEmptyOversizedAndNonUtf8) {
  testing::test_club c(16);
  EXPECT_EQ(c.domain.post("a", "").error(), errc::invalid_argument);
  EXPECT_EQ(c.domain.post("a", "\xff").error(), errc::invalid_argument);
  EXPECT_EQ(c.domain.post("a", std::string(17, 'x')).error(), errc::too_large);
  EXPECT_TRUE(c.domain.post("a", std::string(16, 'x')));
}

TEST(Club, EmptyClubHasNoNewest) {
  testing::test_club c;
  EXPECT_EQ(c.domain.read_newest("a", "r").error(), errc::not_found);
  EXPECT_TRUE(c.store.list_audit(10).value().empty());
}

TEST(Club, PlaintextNeverReachesTheDatabaseFile) {
  testing::test_club c;
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
  EXPECT_EQ(read.audit.member, "bob");
  EXPECT_EQ(c.domain.list(std::nullopt, 10).value()[0].format, store::message_format::fernet);
  // Sealed at rest like any body: not even the token is in the file.
  EXPECT_EQ(file_bytes(c.db_path).find(token.substr(0, 20)), std::string::npos);
}

TEST(Club, FernetPostsMustLookLikeTokensWithinTheLimit) {
  testing::test_club c(/*max_message_bytes=*/32);
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
  const auto a = c.domain.post("alice", "for message a").value();
  const auto b = c.domain.post("alice", "for message b").value();
  // Someone with write access to the database moves b's ciphertext into a's row.
  const auto b_sealed = c.store.message(b).value().sealed;
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
  const auto id = c.domain.post("alice", "secret").value();
  keyring other(crypto::random_bytes(crypto::envelope::key_size), c.store);
  const auto record = c.store.message(id).value();
  EXPECT_EQ(other.open(record.sealed, message_context(id)).error(), errc::crypto_failure);
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

}  // namespace
}  // namespace hush::club
