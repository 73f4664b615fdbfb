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
  const auto m = migrated.newest_message(0).value();
  EXPECT_EQ(m.author, "a");
  EXPECT_EQ(m.format, message_format::text);
  EXPECT_TRUE(migrated.integrity_ok());
}

// A club made before messages had terms (user_version 9) is upgraded in place: its messages keep
// everything and have no terms, and new ones can have them.
TEST(SqliteStoreMigration, MessagesFromBeforeTermsHaveNone) {
  temp_dir dir;
  const auto path = make_database(dir);
  {
    std::string old;
    std::size_t step = 0;
    for (;
         step < sqlite_migrations::steps.size() &&
         std::string_view(sqlite_migrations::steps[step]).find("CREATE TABLE message_recipients") ==
             std::string_view::npos;
         ++step) {
      old += sqlite_migrations::steps[step];
    }
    ASSERT_LT(step, sqlite_migrations::steps.size());
    old +=
        "INSERT INTO members (name, role, password_hash, created_at) "
        "VALUES ('a', 'admin', 'h', 1);";
    old +=
        "INSERT INTO messages (author, created_at, sealed, format) "
        "VALUES ('a', 1, x'01', 'fernet');";
    // By a name no member had when it was posted: a later member of that name is not its author.
    old +=
        "INSERT INTO members (name, role, password_hash, created_at) "
        "VALUES ('late', 'poster', 'h', 9);";
    old +=
        "INSERT INTO messages (author, created_at, sealed, format) "
        "VALUES ('late', 2, x'02', 'text');";
    old += "INSERT INTO audit (at, member, message_id, remote) VALUES (2, 'a', 1, 'r');";
    old += "PRAGMA user_version=" + std::to_string(step) + ";";
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(raw, old.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  sqlite_store migrated(path);
  const auto a = migrated.find_member("a").value();
  const auto m = migrated.message(message_id{1}, viewer{a.id, role::reader, 5}).value();
  EXPECT_EQ(m.author, "a");
  EXPECT_EQ(m.format, message_format::fernet);
  EXPECT_EQ(m.sealed, std::vector<std::uint8_t>{1});
  EXPECT_FALSE(m.terms.any());
  EXPECT_EQ(m.reads, 0U);
  // The author found by name, as a member before they posted; the newcomer's name finds nobody.
  EXPECT_EQ(m.author_id, a.id);
  EXPECT_EQ(migrated.message(message_id{2}, 5).value().author_id, member_id{});
  EXPECT_EQ(migrated.reads_of(m.id, 10).value().size(), 1U);
  message_terms terms;
  terms.max_reads = 1;
  terms.to = {recipient::to_member(a.id)};
  EXPECT_TRUE(migrated.add_message("a", 3, message_format::text, fixed_value({2}), terms));
  EXPECT_TRUE(migrated.snapshot(5));
  EXPECT_TRUE(migrated.integrity_ok());
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
  EXPECT_EQ(db.list_messages(std::nullopt, 10, 0).value().size(), 1U);
}

// The last of max_reads reads removes the message and wipes it as remove_message does, in the
// same call: the reader gets the body, and no file keeps a byte of it.
TEST_F(SqliteStoreTest, TheLastCountedReadLeavesNoByteOfTheBodyInAnyFile) {
  const std::string marker = "burnt-body-marker-0123456789-abcdef";
  ASSERT_TRUE(db.add_member("alice", role::poster, "hash", 1));
  const auto bob = db.add_member("bob", role::reader, "hash", 1).value();
  message_terms terms;
  terms.max_reads = 1;
  const auto doomed =
      db.add_message("alice", 1, message_format::text, fixed_value(marker_bytes(marker)), terms)
          .value();
  ASSERT_TRUE(db.add_message("alice", 2, fixed_value({7})));
  ASSERT_FALSE(files_holding(dir.path(), marker).empty());
  const auto read = db.claim_read(doomed, viewer{bob, role::reader, 10}).value();
  EXPECT_EQ(read.sealed, marker_bytes(marker));
  EXPECT_EQ(files_holding(dir.path(), marker), std::vector<std::string>{});
  EXPECT_EQ(std::filesystem::file_size(path.string() + "-wal"), 0U);
  EXPECT_EQ(db.message(doomed, 0).error(), errc::not_found);
}

// The sweeper's removal wipes as remove_message's does.
TEST_F(SqliteStoreTest, SweptMessagesLeaveNoByteOfTheirBodiesInAnyFile) {
  const std::string marker = "expired-body-marker-0123456789-abcdef";
  message_terms terms;
  terms.expires_at = 100;
  ASSERT_TRUE(
      db.add_message("a", 1, message_format::text, fixed_value(marker_bytes(marker)), terms));
  ASSERT_TRUE(db.add_message("a", 2, fixed_value({7})));
  ASSERT_FALSE(files_holding(dir.path(), marker).empty());
  EXPECT_EQ(db.remove_expired(99, 10).value(), 0U);
  ASSERT_FALSE(files_holding(dir.path(), marker).empty());
  EXPECT_EQ(db.remove_expired(100, 10).value(), 1U);
  EXPECT_EQ(files_holding(dir.path(), marker), std::vector<std::string>{});
  EXPECT_EQ(std::filesystem::file_size(path.string() + "-wal"), 0U);
  EXPECT_EQ(db.list_messages(std::nullopt, 10, 0).value().size(), 1U);
}

// SQLite hands the largest rowid out again: a member added after the last one left gets their
// id. What was addressed to the first by id must not reach the second (the trigger of migration
// 10 zeroes the id out of it when the first goes).
TEST_F(SqliteStoreTest, AReusedMemberIdInheritsNothing) {
  ASSERT_TRUE(db.add_member("alice", role::admin, "hash", 1));
  const auto bob = db.add_member("bob", role::reader, "hash", 1).value();
  message_terms terms;
  terms.to = {recipient::to_member(bob)};
  const auto id = db.add_message("alice", 1, message_format::text, fixed_value({1}), terms).value();
  ASSERT_TRUE(db.remove_member("bob", 2));
  const auto newcomer = db.add_member("eve", role::reader, "hash", 3).value();
  ASSERT_EQ(newcomer, bob);  // the scenario: the same id, another member
  EXPECT_EQ(db.message(id, viewer{newcomer, role::reader, 10}).error(), errc::not_found);
  EXPECT_EQ(db.message(id, 0).value().terms.to.at(0).member, member_id{});
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
  EXPECT_EQ(db.message(doomed, 0).error(), errc::not_found);  // the removal itself committed
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  // The next removal wipes what the first could not.
  const auto next = db.add_message("a", 2, fixed_value({4})).value();
  EXPECT_TRUE(db.remove_message(next));
  EXPECT_EQ(std::filesystem::file_size(path.string() + "-wal"), 0U);
}

// The last reader gets the body even when a long reader keeps the log from being wiped: the
// message is gone for every query, and the next removal wipes what this one could not.
TEST_F(SqliteStoreTest, TheLastReadSucceedsWhenALongReaderDelaysTheWipe) {
  const std::string marker = "delayed-burn-marker-0123456789-abcdef";
  const auto bob = db.add_member("bob", role::reader, "hash", 1).value();
  message_terms terms;
  terms.max_reads = 1;
  const auto doomed =
      db.add_message("a", 1, message_format::text, fixed_value(marker_bytes(marker)), terms)
          .value();
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &reader), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM messages;", nullptr, nullptr, nullptr),
      SQLITE_OK);
  const auto read = db.claim_read(doomed, viewer{bob, role::reader, 10});
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->sealed, marker_bytes(marker));
  EXPECT_EQ(db.message(doomed, 0).error(), errc::not_found);
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  const auto next = db.add_message("a", 2, fixed_value({4})).value();
  EXPECT_TRUE(db.remove_message(next));
  EXPECT_EQ(files_holding(dir.path(), marker), std::vector<std::string>{});
}

// The generation moves for a change made behind hush's back too (here by another connection,
// as the sqlite3 shell would), and a database whose triggers were dropped gives no view at all,
// so that reads are never served from memory that nothing would invalidate.
TEST_F(SqliteStoreTest, ChangesByAnyConnectionMoveTheGenerationAndNoTriggersMeansNoView) {
  ASSERT_TRUE(db.add_member("alice", role::poster, "hash", 1));
  const auto before = db.generation().value();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "UPDATE members SET role = 'admin' WHERE name = 'alice'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  EXPECT_NE(db.generation().value(), before);
  EXPECT_TRUE(db.snapshot(0));
  ASSERT_EQ(sqlite3_exec(other, "DROP TRIGGER tokens_changed_delete", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);
  EXPECT_EQ(db.snapshot(0).error(), errc::storage_failure);
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

// Without the trigger that zeroes a departed member's id out of messages, a newcomer given the
// same row id would inherit them: such a database is refused when it is opened, saying why.
TEST(SqliteStoreOpen, ADatabaseWithoutTheMembersLeftTriggerIsRefused) {
  temp_dir dir;
  const auto path = make_database(dir);
  { sqlite_store first(path); }
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "DROP TRIGGER members_left_messages", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);
  try {
    sqlite_store refused(path);
    ADD_FAILURE() << "opened a database without members_left_messages";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("members_left_messages is missing"), std::string::npos)
        << e.what();
  }
  // The same trigger on another table is not it.
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other,
                         "CREATE TRIGGER members_left_messages AFTER DELETE ON tokens "
                         "BEGIN SELECT 1; END",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);
  EXPECT_THROW(sqlite_store{path}, std::runtime_error);
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

TEST_F(SqliteStoreTest, ConcurrentWritersLeaveTheFileIntact) {
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
  EXPECT_EQ(db.list_messages(std::nullopt, 1000, 0).value().size(),
            static_cast<std::size_t>(threads * per_thread));
  EXPECT_TRUE(db.integrity_ok());
}

// Each CRL number is larger than the one before, whoever asks: two stores on one file (the
// server and the CLI) and many threads never get the same number, and a reopened file goes on.
TEST_F(SqliteStoreTest, CrlNumbersGrowAcrossStoresOnOneFile) {
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
