#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace hush::store {

// A prepared statement borrowed from a connection's cache; reset and unbound when it goes out of
// scope. Not thread safe (neither is the connection that owns it).
class sqlite_statement {
 public:
  explicit sqlite_statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  sqlite_statement(const sqlite_statement&) = delete;
  sqlite_statement& operator=(const sqlite_statement&) = delete;
  sqlite_statement(sqlite_statement&& other) noexcept : stmt_(other.stmt_) {
    other.stmt_ = nullptr;
  }
  sqlite_statement& operator=(sqlite_statement&&) = delete;
  ~sqlite_statement();

  sqlite_statement& bind(int index, std::int64_t value);
  sqlite_statement& bind(int index, std::string_view value);
  sqlite_statement& bind(int index, std::span<const std::uint8_t> value);

  // Steps once: true with a row, false when done; the error (busy, constraint, ...) otherwise.
  result<bool> step();
  // Steps until done.
  result<void> run();

  std::int64_t column_int(int index) const;
  std::string column_text(int index) const;
  std::vector<std::uint8_t> column_blob(int index) const;

 private:
  sqlite3_stmt* stmt_;
};

// One SQLite connection with its statement cache. Not thread safe: one thread at a time, which the
// store's pool guarantees.
class sqlite_connection {
 public:
  // Throws std::runtime_error naming the file if it cannot be opened (startup only). On a
  // read-only file system the connection is read-only, and every write fails with read_only.
  explicit sqlite_connection(const std::filesystem::path& path);
  ~sqlite_connection();
  sqlite_connection(const sqlite_connection&) = delete;
  sqlite_connection& operator=(const sqlite_connection&) = delete;

  // `sql` must be a string literal: its address keys the cache.
  result<sqlite_statement> prepare(const char* sql);

  result<void> exec(const char* sql);
  std::int64_t last_insert_rowid() const;
  int changes() const;

  // Copies the write-ahead log into the database and truncates it to nothing, so that pages it
  // held (deleted rows among them) are in no file any more. Waits briefly for readers still on
  // older pages; not_wiped if they outlast the wait. Call outside a transaction.
  result<void> wipe_log();

 private:
  sqlite3* db_ = nullptr;
  bool read_only_ = false;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

// Maps a SQLite result code to our errors: busy/locked -> storage_busy, constraint ->
// already_exists, full (or an I/O error with ENOSPC/EDQUOT) -> disk_full, readonly (or EROFS)
// -> read_only, anything else -> storage_failure. `system_errno` is sqlite3_system_errno's.
std::error_code sqlite_error(int code, int system_errno = 0);

// A file name as the path of a SQLite URI ("file:" + uri_path(name)): the characters a URI gives
// meaning to (%, ?, #) are %-escaped, so that a name holding them names that file. Needed even
// without SQLITE_OPEN_URI: a library built with SQLITE_USE_URI (Debian's) reads any name that
// starts with "file:" as a URI.
std::string uri_path(const std::string& path);

}  // namespace hush::store
