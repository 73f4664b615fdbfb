#include "store/sqlite/backup_file.hpp"

#include <fcntl.h>
#include <memory>
#include <stdexcept>
#include <unistd.h>

#include <sqlite3.h>

#include "store/sqlite/connection.hpp"

namespace hush::store::backup_file {
namespace {

constexpr int busy_timeout_ms = 5000;

struct closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close(db); }
};
struct finalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using database = std::unique_ptr<sqlite3, closer>;
using statement = std::unique_ptr<sqlite3_stmt, finalizer>;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what, sqlite3* db) {
  throw std::runtime_error(path.string() + ": " + what +
                           (db != nullptr ? std::string(": ") + sqlite3_errmsg(db) : ""));
}

database open(const std::filesystem::path& path, bool writable) {
  sqlite3* raw = nullptr;
  // Absolute and escaped: a backup named with ?, # or % (or a relative name like "file:x") is
  // that file, never a URI's query or fragment.
  const std::string uri =
      "file:" + uri_path(std::filesystem::absolute(path).string()) + (writable ? "" : "?mode=ro");
  const int flags = (writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_URI |
                    SQLITE_OPEN_NOFOLLOW;
  const int rc = sqlite3_open_v2(uri.c_str(), &raw, flags, nullptr);
  database db(raw);
  if (rc != SQLITE_OK) {
    fail(path, "cannot open", db.get());
  }
  sqlite3_busy_timeout(db.get(), busy_timeout_ms);
  sqlite3_exec(db.get(), "PRAGMA trusted_schema=OFF", nullptr, nullptr, nullptr);
  return db;
}

void exec(sqlite3* db, const std::filesystem::path& path, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail(path, std::string("cannot run ") + sql, db);
  }
}

statement prepare(sqlite3* db, const std::filesystem::path& path, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    fail(path, "not a hush backup", db);
  }
  return statement(raw);
}

void check_integrity(sqlite3* db, const std::filesystem::path& path) {
  auto stmt = prepare(db, path, "PRAGMA integrity_check");
  if (sqlite3_step(stmt.get()) != SQLITE_ROW ||
      std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0))) != "ok") {
    throw std::runtime_error(path.string() + ": fails SQLite's integrity check");
  }
}

}  // namespace

void attach(const std::filesystem::path& copy, const attachments& files) {
  auto db = open(copy, true);
  // The copy is a new file of our own: rollback journal, nothing else writing to it.
  exec(db.get(), copy, "PRAGMA synchronous=FULL");
  exec(db.get(), copy, "BEGIN IMMEDIATE");
  exec(db.get(), copy, "CREATE TABLE hush_backup (name TEXT PRIMARY KEY, content BLOB NOT NULL)");
  for (const auto& [name, content] : files) {
    auto stmt = prepare(db.get(), copy, "INSERT INTO hush_backup (name, content) VALUES (?1, ?2)");
    sqlite3_bind_text(stmt.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    sqlite3_bind_blob(stmt.get(), 2, content.data(), static_cast<int>(content.size()),
                      SQLITE_STATIC);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
      fail(copy, "cannot write " + name, db.get());
    }
  }
  exec(db.get(), copy, "COMMIT");
  check_integrity(db.get(), copy);
}

attachments read(const std::filesystem::path& backup) {
  auto db = open(backup, false);
  check_integrity(db.get(), backup);
  auto stmt = prepare(db.get(), backup, "SELECT name, content FROM hush_backup");
  attachments files;
  for (;;) {
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) {
      return files;
    }
    if (rc != SQLITE_ROW) {
      fail(backup, "cannot read", db.get());
    }
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt.get(), 1));
    const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt.get(), 1));
    files.emplace(name != nullptr ? name : "", blob != nullptr
                                                   ? std::vector<std::uint8_t>(blob, blob + size)
                                                   : std::vector<std::uint8_t>{});
  }
}

void extract_database(const std::filesystem::path& backup, const std::filesystem::path& target) {
  const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error(target.string() + ": cannot create (it must not exist yet)");
  }
  ::close(fd);
  {
    auto source = open(backup, false);
    auto into = prepare(source.get(), backup, "VACUUM INTO ?1");
    const std::string name = target.string();
    sqlite3_bind_text(into.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    if (sqlite3_step(into.get()) != SQLITE_DONE) {
      fail(target, "cannot copy the database out of the backup", source.get());
    }
  }
  auto db = open(target, true);
  // The attachments are the backup's, not the club's: dropped, and (secure_delete, VACUUM) not
  // left behind in free pages.
  exec(db.get(), target, "PRAGMA secure_delete=ON");
  exec(db.get(), target, "DROP TABLE hush_backup");
  exec(db.get(), target, "VACUUM");
  check_integrity(db.get(), target);
}

}  // namespace hush::store::backup_file
