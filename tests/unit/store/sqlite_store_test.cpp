#include "store/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "core/error.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/migrations.hpp"
#include "support/temp_dir.hpp"
#include "support/test_club.hpp"

namespace hush::store {
namespace {

using testing::make_database;
using testing::temp_dir;

sealer fixed_value(std::vector<std::uint8_t> value) {
  return [value](std::int64_t) -> result<std::vector<std::uint8_t>> { return value; };
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  temp_dir dir;
  std::filesystem::path path = make_database(dir);
  sqlite_store db{path};
};

TEST_F(SqliteStoreTest, MissingFileIsRefused) {
  EXPECT_THROW(sqlite_store(dir.path() / "absent.db"), std::runtime_error);
}

TEST_F(SqliteStoreTest, ReopeningKeepsDataAndSchema) {
  ASSERT_TRUE(db.add_member("alice", role::poster, "hash", 1));
  sqlite_store again(path);
  EXPECT_EQ(again.find_member("alice").value().member_role, role::poster);
  EXPECT_TRUE(again.integrity_ok());
}

TEST_F(SqliteStoreTest, Members) {
  ASSERT_TRUE(db.add_member("bob", role::reader, "h1", 10));
  ASSERT_TRUE(db.add_member("alice", role::admin, "h2", 11));
  const auto dup = db.add_member("bob", role::reader, "h3", 12);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error(), errc::already_exists);

  const auto alice = db.find_member("alice").value();
  EXPECT_EQ(alice.password_hash, "h2");
  EXPECT_EQ(alice.created_at, 11);
  EXPECT_EQ(db.find_member("carol").error(), errc::not_found);

  const auto all = db.list_members().value();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(all[1].name, "bob");

  ASSERT_TRUE(db.remove_member("bob", 20));
  EXPECT_EQ(db.find_member("bob").error(), errc::not_found);
  EXPECT_EQ(db.remove_member("bob", 20).error(), errc::not_found);
}

TEST_F(SqliteStoreTest, PasswordCompareAndSwap) {
  ASSERT_TRUE(db.add_member("alice", role::reader, "old", 1));
  EXPECT_EQ(db.replace_password_hash("alice", "stale", "new").error(), errc::not_found);
  EXPECT_EQ(db.find_member("alice").value().password_hash, "old");
  EXPECT_TRUE(db.replace_password_hash("alice", "old", "new"));
  EXPECT_EQ(db.find_member("alice").value().password_hash, "new");
  EXPECT_TRUE(db.set_password_hash("alice", "newer"));
  EXPECT_EQ(db.find_member("alice").value().password_hash, "newer");
  EXPECT_EQ(db.set_password_hash("nobody", "x").error(), errc::not_found);
}

TEST_F(SqliteStoreTest, SealerSeesTheRowIdAndFailureRollsBack) {
  std::int64_t seen = 0;
  const auto id =
      db.add_message("alice", 5, [&](std::int64_t row) -> result<std::vector<std::uint8_t>> {
        seen = row;
        return std::vector<std::uint8_t>{1, 2, 3};
      });
  ASSERT_TRUE(id);
  EXPECT_EQ(id->value, seen);
  EXPECT_EQ(db.message(*id).value().sealed, (std::vector<std::uint8_t>{1, 2, 3}));

  const auto failed =
      db.add_message("alice", 6, [](std::int64_t) -> result<std::vector<std::uint8_t>> {
        return make_error_code(errc::crypto_failure);
      });
  EXPECT_EQ(failed.error(), errc::crypto_failure);
  EXPECT_EQ(db.list_messages(std::nullopt, 10).value().size(), 1U);
}

TEST_F(SqliteStoreTest, MessagesNewestFirstWithKeysetPages) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(db.add_message("a" + std::to_string(i), 100 + i, fixed_value({0})));
  }
  EXPECT_EQ(db.newest_message().value().author, "a4");
  const auto first = db.list_messages(std::nullopt, 2).value();
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[0].author, "a4");
  EXPECT_EQ(first[1].author, "a3");
  const auto second = db.list_messages(first.back().id, 2).value();
  ASSERT_EQ(second.size(), 2U);
  EXPECT_EQ(second[0].author, "a2");
  const auto last = db.list_messages(second.back().id, 2).value();
  ASSERT_EQ(last.size(), 1U);
  EXPECT_EQ(last[0].author, "a0");
}

TEST_F(SqliteStoreTest, MessageFormatIsKept) {
  const auto text = db.add_message("a", 1, fixed_value({1})).value();
  const auto e2e = db.add_message("a", 2, message_format::fernet, fixed_value({2})).value();
  EXPECT_EQ(db.message(text).value().format, message_format::text);
  EXPECT_EQ(db.message(e2e).value().format, message_format::fernet);
  EXPECT_EQ(db.newest_message().value().format, message_format::fernet);
  const auto list = db.list_messages(std::nullopt, 10).value();
  ASSERT_EQ(list.size(), 2U);
  EXPECT_EQ(list[0].format, message_format::fernet);
  EXPECT_EQ(list[1].format, message_format::text);
}

TEST(SqliteStoreMigration, MessagesFromBeforeFormatsAreText) {
  temp_dir dir;
  const auto path = make_database(dir);
  {
    // A database as the last release without message formats left it: every step before the
    // one that adds the column (found by its text, so that renumbering steps cannot break this).
    std::string old;
    std::size_t step = 0;
    for (; step < sqlite_migrations::steps.size() &&
           std::string_view(sqlite_migrations::steps[step]).find("ADD COLUMN format") ==
               std::string_view::npos;
         ++step) {
      old += sqlite_migrations::steps[step];
    }
    ASSERT_LT(step, sqlite_migrations::steps.size());
    old += "INSERT INTO messages (author, created_at, sealed) VALUES ('a', 1, x'01');";
    old += "PRAGMA user_version=" + std::to_string(step) + ";";
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(raw, old.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  sqlite_store migrated(path);
  const auto m = migrated.newest_message().value();
  EXPECT_EQ(m.author, "a");
  EXPECT_EQ(m.format, message_format::text);
  EXPECT_TRUE(migrated.integrity_ok());
}

TEST_F(SqliteStoreTest, RemovedIdsAreNeverReused) {
  const auto first = db.add_message("a", 1, fixed_value({1})).value();
  ASSERT_TRUE(db.remove_message(first));
  EXPECT_EQ(db.message(first).error(), errc::not_found);
  EXPECT_EQ(db.newest_message().error(), errc::not_found);
  EXPECT_EQ(db.remove_message(first).error(), errc::not_found);
  const auto second = db.add_message("a", 2, fixed_value({2})).value();
  EXPECT_GT(second.value, first.value);
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every file of the store (database, log, shared memory) that still holds `needle`.
std::vector<std::string> files_holding(const std::filesystem::path& dir,
                                       const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file() && file_bytes(entry.path()).find(needle) != std::string::npos) {
      found.push_back(entry.path().filename().string());
    }
  }
  return found;
}

std::vector<std::uint8_t> marker_bytes(const std::string& text) {
  return {text.begin(), text.end()};
}

TEST_F(SqliteStoreTest, RemovalLeavesNoByteOfTheBodyInAnyFile) {
  const std::string marker = "sealed-body-marker-0123456789-abcdef";
  const auto doomed = db.add_message("a", 1, fixed_value(marker_bytes(marker))).value();
  ASSERT_TRUE(db.add_message("a", 2, fixed_value({7})));
  // The store stays open (as the server keeps it), so SQLite's close-time checkpoint cannot help.
  ASSERT_FALSE(files_holding(dir.path(), marker).empty());
  ASSERT_TRUE(db.remove_message(doomed));
  EXPECT_EQ(files_holding(dir.path(), marker), std::vector<std::string>{});
  EXPECT_EQ(std::filesystem::file_size(path.string() + "-wal"), 0U);
  EXPECT_EQ(db.list_messages(std::nullopt, 10).value().size(), 1U);
}

TEST_F(SqliteStoreTest, ALongReaderMakesTheWipeFailNotLie) {
  const auto doomed = db.add_message("a", 1, fixed_value({1, 2, 3})).value();
  // Another process in the middle of a long read, on the snapshot that still holds the row.
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &reader), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM messages;", nullptr, nullptr, nullptr),
      SQLITE_OK);
  EXPECT_EQ(db.remove_message(doomed).error(), errc::not_wiped);
  EXPECT_EQ(db.message(doomed).error(), errc::not_found);  // the removal itself committed
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  // The next removal wipes what the first could not.
  const auto next = db.add_message("a", 2, fixed_value({4})).value();
  EXPECT_TRUE(db.remove_message(next));
  EXPECT_EQ(std::filesystem::file_size(path.string() + "-wal"), 0U);
}

TEST(SqliteStoreOpen, AnUpToDateDatabaseIsOpenedWithoutWriting) {
  temp_dir dir;
  const auto path = make_database(dir);
  { sqlite_store first(path); }  // migrates; its close folds the log into the file
  const auto before = file_bytes(path);
  sqlite_store again(path);
  EXPECT_TRUE(again.list_members());
  EXPECT_EQ(file_bytes(path), before);
  const auto log = path.string() + "-wal";
  EXPECT_TRUE(!std::filesystem::exists(log) || std::filesystem::file_size(log) == 0);
}

TEST(SqliteErrors, FullAndReadOnlyDisksAreNamed) {
  EXPECT_EQ(sqlite_error(SQLITE_FULL), errc::disk_full);
  EXPECT_EQ(sqlite_error(SQLITE_IOERR_WRITE, ENOSPC), errc::disk_full);
  EXPECT_EQ(sqlite_error(SQLITE_IOERR_SHMSIZE, EDQUOT), errc::disk_full);
  EXPECT_EQ(sqlite_error(SQLITE_READONLY), errc::read_only);
  EXPECT_EQ(sqlite_error(SQLITE_CANTOPEN, EROFS), errc::read_only);
  EXPECT_EQ(sqlite_error(SQLITE_IOERR_WRITE, EIO), errc::storage_failure);
  EXPECT_EQ(sqlite_error(SQLITE_BUSY), errc::storage_busy);
}

TEST_F(SqliteStoreTest, ClubMetaKeepsTheFirstValue) {
  EXPECT_EQ(db.club_meta("k").error(), errc::not_found);
  ASSERT_TRUE(db.set_club_meta_once("k", std::vector<std::uint8_t>{1, 2}));
  ASSERT_TRUE(db.set_club_meta_once("k", std::vector<std::uint8_t>{3}));
  EXPECT_EQ(db.club_meta("k").value(), (std::vector<std::uint8_t>{1, 2}));
}

TEST_F(SqliteStoreTest, DataKeys) {
  EXPECT_EQ(db.newest_data_key().error(), errc::not_found);
  const auto one = db.add_data_key(fixed_value({9}), 1).value();
  const auto two = db.add_data_key(fixed_value({8}), 2).value();
  EXPECT_EQ(db.newest_data_key().value().id, two);
  EXPECT_EQ(db.data_key(one).value().wrapped, std::vector<std::uint8_t>{9});
  EXPECT_EQ(db.data_key(99).error(), errc::not_found);
}

TEST_F(SqliteStoreTest, AuditKeepsTheLastRecordsOldestFirst) {
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(db.add_audit({i, "m" + std::to_string(i), message_id{i}, "127.0.0.1"}));
  }
  const auto last = db.list_audit(2).value();
  ASSERT_EQ(last.size(), 2U);
  EXPECT_EQ(last[0].member, "m3");
  EXPECT_EQ(last[1].member, "m4");
  EXPECT_EQ(last[1].message.value, 4);
  EXPECT_EQ(last[1].remote, "127.0.0.1");
}

TEST_F(SqliteStoreTest, ConcurrentWritersLoseNothing) {
  constexpr int threads = 4;
  constexpr int per_thread = 25;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        ASSERT_TRUE(db.add_message("t" + std::to_string(t), i, fixed_value({1})));
      }
    });
  }
  for (auto& thread : pool) {
    thread.join();
  }
  EXPECT_EQ(db.list_messages(std::nullopt, 1000).value().size(),
            static_cast<std::size_t>(threads * per_thread));
  EXPECT_TRUE(db.integrity_ok());
}

}  // namespace
}  // namespace hush::store

namespace hush::store {
namespace {

class ClientCertTest : public SqliteStoreTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db.add_member("alice", role::reader, "h", 1));
    ASSERT_TRUE(db.add_member("bob", role::reader, "h", 1));
  }
};

TEST_F(ClientCertTest, AddAndStatus) {
  ASSERT_TRUE(db.add_client_cert({"a1", "alice", 10, 1000, 0}));
  const auto status = db.client_cert_status("a1").value();
  EXPECT_EQ(status.member, "alice");
  EXPECT_EQ(status.issued_at, 10);
  EXPECT_EQ(status.expires_at, 1000);
  EXPECT_FALSE(status.revoked());
  EXPECT_EQ(db.client_cert_status("ff").error(), errc::not_found);
  EXPECT_EQ(db.add_client_cert({"a1", "bob", 10, 1000, 0}).error(), errc::already_exists);
  EXPECT_EQ(db.add_client_cert({"a2", "carol", 10, 1000, 0}).error(), errc::not_found);
  EXPECT_EQ(db.client_cert_status("a2").error(), errc::not_found);
  EXPECT_TRUE(db.list_revoked_certs().value().empty());
}

TEST_F(ClientCertTest, RevokeKeepsTheFirstDate) {
  ASSERT_TRUE(db.add_client_cert({"a1", "alice", 10, 1000, 0}));
  ASSERT_TRUE(db.add_client_cert({"a2", "alice", 10, 1000, 0}));
  EXPECT_EQ(db.revoke_cert("ff", 20).error(), errc::not_found);
  ASSERT_TRUE(db.revoke_cert("a1", 20));
  ASSERT_TRUE(db.revoke_cert("a1", 30));
  EXPECT_EQ(db.client_cert_status("a1").value().revoked_at, 20);
  EXPECT_FALSE(db.client_cert_status("a2").value().revoked());
  const auto revoked = db.list_revoked_certs().value();
  ASSERT_EQ(revoked.size(), 1U);
  EXPECT_EQ(revoked[0].serial, "a1");
  EXPECT_EQ(revoked[0].revoked_at, 20);
}

TEST_F(ClientCertTest, RevokeMemberCertsTouchesOnlyTheirValidOnes) {
  ASSERT_TRUE(db.add_client_cert({"a1", "alice", 10, 1000, 0}));
  ASSERT_TRUE(db.add_client_cert({"a2", "alice", 10, 1000, 0}));
  ASSERT_TRUE(db.add_client_cert({"b1", "bob", 10, 1000, 0}));
  ASSERT_TRUE(db.revoke_cert("a1", 20));
  EXPECT_EQ(db.revoke_member_certs("alice", 30).value(), 1U);
  EXPECT_EQ(db.revoke_member_certs("alice", 40).value(), 0U);
  EXPECT_EQ(db.client_cert_status("a1").value().revoked_at, 20);
  EXPECT_EQ(db.client_cert_status("a2").value().revoked_at, 30);
  EXPECT_FALSE(db.client_cert_status("b1").value().revoked());
  EXPECT_EQ(db.list_revoked_certs().value().size(), 2U);
}

TEST_F(ClientCertTest, RemovingAMemberRevokesAndKeepsTheirCerts) {
  ASSERT_TRUE(db.add_client_cert({"a1", "alice", 10, 1000, 0}));
  ASSERT_TRUE(db.add_client_cert({"b1", "bob", 10, 1000, 0}));
  ASSERT_TRUE(db.remove_member("alice", 50));
  const auto status = db.client_cert_status("a1").value();
  EXPECT_EQ(status.member, "alice");
  EXPECT_EQ(status.revoked_at, 50);
  EXPECT_FALSE(db.client_cert_status("b1").value().revoked());
  // An unknown member is not_found and touches no one else.
  EXPECT_EQ(db.remove_member("carol", 60).error(), errc::not_found);
  EXPECT_FALSE(db.client_cert_status("b1").value().revoked());
  // And the removed member cannot be given a new one.
  EXPECT_EQ(db.add_client_cert({"a3", "alice", 10, 1000, 0}).error(), errc::not_found);
}

TEST(SqliteStoreLimits, SessionsPerMemberAreCappedOldestFirst) {
  testing::test_club club;
  club.add("reader", role::reader, "reader password");
  const session_limits limits{3600, 86400, 3};
  std::vector<std::vector<std::uint8_t>> hashes;
  for (std::uint8_t i = 0; i < 5; ++i) {
    hashes.push_back(std::vector<std::uint8_t>(32, i));
    ASSERT_TRUE(club.store.add_session(hashes.back(), "reader", club.clock.now_seconds(), limits));
  }
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    const auto found = club.store.member_by_session(hashes[i], club.clock.now_seconds(), limits);
    EXPECT_EQ(static_cast<bool>(found), i >= 2) << i;
  }
}

TEST(SqliteStoreLimits, AuditPruneTakesOnlyOldRecordsInBatches) {
  testing::test_club club;
  for (std::int64_t at = 1; at <= 10; ++at) {
    ASSERT_TRUE(club.store.add_audit({at * 100, "reader", message_id{1}, "192.0.2.1"}));
  }
  EXPECT_EQ(club.store.prune_audit(601, 4).value(), 4U);
  EXPECT_EQ(club.store.prune_audit(601, 4).value(), 2U);
  EXPECT_EQ(club.store.prune_audit(601, 4).value(), 0U);
  const auto left = club.store.list_audit(100).value();
  ASSERT_EQ(left.size(), 4U);
  EXPECT_EQ(left.front().at, 700);
}

// Server certificates (hush init, cert renew: server; ca sign: csr) are recorded and revocable
// like members' certificates, and the CRL lists them; the client check never sees them.
TEST_F(ClientCertTest, ServerCertsAreRecordedRevokedAndListed) {
  ASSERT_TRUE(db.add_client_cert({"a1", "alice", 10, 1000, 0}));
  ASSERT_TRUE(db.add_server_cert({"5e", cert_kind::server, "localhost,127.0.0.1", 11, 2000, 0}));
  ASSERT_TRUE(db.add_server_cert({"c5", cert_kind::csr, "web.example", 12, 3000, 0}));
  EXPECT_EQ(db.add_server_cert({"5e", cert_kind::csr, "x", 13, 3000, 0}).error(),
            errc::already_exists);
  EXPECT_FALSE(db.add_server_cert({"77", cert_kind::client, "alice", 13, 3000, 0}));
  // Not a client certificate: the server's check of a peer certificate does not know it.
  EXPECT_EQ(db.client_cert_status("5e").error(), errc::not_found);

  const auto all = db.list_certs().value();
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].serial, "a1");
  EXPECT_EQ(all[0].kind, cert_kind::client);
  EXPECT_EQ(all[0].names, "alice");
  EXPECT_EQ(all[1].serial, "5e");
  EXPECT_EQ(all[1].kind, cert_kind::server);
  EXPECT_EQ(all[1].names, "localhost,127.0.0.1");
  EXPECT_EQ(all[1].expires_at, 2000);
  EXPECT_EQ(all[2].kind, cert_kind::csr);

  ASSERT_TRUE(db.revoke_cert("5e", 40));
  ASSERT_TRUE(db.revoke_cert("5e", 50));  // keeps the first date
  ASSERT_TRUE(db.revoke_cert("a1", 45));
  ASSERT_TRUE(db.revoke_cert("c5", 60));
  EXPECT_EQ(db.revoke_cert("ff", 60).error(), errc::not_found);
  const auto revoked = db.list_revoked_certs().value();
  ASSERT_EQ(revoked.size(), 3U);
  EXPECT_EQ(revoked[0].serial, "5e");
  EXPECT_EQ(revoked[0].revoked_at, 40);
  EXPECT_EQ(revoked[1].serial, "a1");
  EXPECT_EQ(revoked[2].serial, "c5");
  EXPECT_TRUE(db.list_certs().value()[1].revoked());
}

// Each CRL number is larger than the one before, whoever asks: two stores on one file (the
// server and the CLI) and many threads never get the same number.
TEST_F(SqliteStoreTest, CrlNumbersOnlyGrow) {
  const auto first = db.next_crl_number().value();
  EXPECT_GT(first, 0);
  EXPECT_EQ(db.next_crl_number().value(), first + 1);
  sqlite_store other(path);
  EXPECT_EQ(other.next_crl_number().value(), first + 2);
  constexpr int threads = 4;
  constexpr int each = 25;
  std::vector<std::vector<std::int64_t>> got(threads);
  {
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        auto& store = t % 2 == 0 ? db : other;
        for (int i = 0; i < each; ++i) {
          got[t].push_back(store.next_crl_number().value());
        }
      });
    }
  }
  std::vector<std::int64_t> all;
  for (const auto& g : got) {
    EXPECT_TRUE(std::is_sorted(g.begin(), g.end()));
    all.insert(all.end(), g.begin(), g.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  EXPECT_EQ(all.front(), first + 3);
  EXPECT_EQ(all.back(), first + 2 + threads * each);
  sqlite_store reopened(path);
  EXPECT_EQ(reopened.next_crl_number().value(), first + 3 + threads * each);
}

}  // namespace
}  // namespace hush::store
