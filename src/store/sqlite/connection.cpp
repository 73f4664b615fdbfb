#include "store/sqlite/connection.hpp"

#include <chrono>
#include <stdexcept>

#include <sqlite3.h>

#include "core/error.hpp"

namespace hush::store {
namespace {

// How long a writer waits for another process's write lock before giving up with storage_busy.
constexpr int busy_timeout_ms = 5000;

}  // namespace

std::error_code sqlite_error(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return make_error_code(errc::storage_busy);
    case SQLITE_CONSTRAINT:
      return make_error_code(errc::already_exists);
    default:
      return make_error_code(errc::storage_failure);
  }
}

sqlite_statement::~sqlite_statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

sqlite_statement& sqlite_statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

sqlite_statement& sqlite_statement::bind(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

sqlite_statement& sqlite_statement::bind(int index, std::span<const std::uint8_t> value) {
  // A zero-length blob must still be a blob, not NULL.
  static const std::uint8_t empty = 0;
  sqlite3_bind_blob64(stmt_, index, value.empty() ? &empty : value.data(), value.size(),
                      SQLITE_TRANSIENT);
  return *this;
}

result<bool> sqlite_statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return result<bool>(boost::system::in_place_error, sqlite_error(rc));
}

result<void> sqlite_statement::run() {
  for (;;) {
    auto row = step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return {};
    }
  }
}

std::int64_t sqlite_statement::column_int(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string sqlite_statement::column_text(int index) const {
  const auto* text = sqlite3_column_text(stmt_, index);
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index));
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), size);
}

std::vector<std::uint8_t> sqlite_statement::column_blob(int index) const {
  const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, index));
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index));
  return blob == nullptr ? std::vector<std::uint8_t>()
                         : std::vector<std::uint8_t>(blob, blob + size);
}

sqlite_connection::sqlite_connection(const std::filesystem::path& path) {
  // NOMUTEX: the pool hands a connection to one thread at a time.
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, nullptr);
  if (rc != SQLITE_OK) {
    const std::string reason = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(path.string() + ": cannot open database: " + reason);
  }
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  sqlite3_extended_result_codes(db_, 1);
  // WAL lets readers go on while one writer writes; FULL makes every commit durable before it is
  // acknowledged; secure_delete overwrites removed rows so a removed message leaves no trace.
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
        "PRAGMA secure_delete=ON", "PRAGMA trusted_schema=OFF"}) {
    if (!exec(pragma)) {
      const std::string reason = sqlite3_errmsg(db_);
      sqlite3_close(db_);
      db_ = nullptr;
      throw std::runtime_error(path.string() + ": " + pragma + ": " + reason);
    }
  }
}

sqlite_connection::~sqlite_connection() {
  for (auto& [sql, stmt] : cache_) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db_);
}

result<sqlite_statement> sqlite_connection::prepare(const char* sql) {
  auto found = cache_.find(sql);
  if (found != cache_.end()) {
    return sqlite_statement(found->second);
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return sqlite_error(rc);
  }
  cache_.emplace(sql, stmt);
  return sqlite_statement(stmt);
}

result<void> sqlite_connection::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) {
    return sqlite_error(rc);
  }
  return {};
}

std::int64_t sqlite_connection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int sqlite_connection::changes() const {
  return sqlite3_changes(db_);
}

}  // namespace hush::store
