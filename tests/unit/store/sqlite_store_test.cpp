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
  const auto m = migrated.newest_message().value();
  EXPECT_EQ(m.author, "a");
  EXPECT_EQ(m.format, message_format::text);
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
  EXPECT_TRUE(db.snapshot());
  ASSERT_EQ(sqlite3_exec(other, "DROP TRIGGER tokens_changed_delete", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);
  EXPECT_EQ(db.snapshot().error(), errc::storage_failure);
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
  EXPECT_EQ(db.list_messages(std::nullopt, 1000).value().size(),
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
