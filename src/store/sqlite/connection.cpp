#include "store/sqlite/connection.hpp"

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <sys/statvfs.h>
#include <thread>

#include <sqlite3.h>

#include "core/error.hpp"
#include "core/metrics.hpp"

namespace hush::store {
namespace {

// How long a writer waits for another process's write lock before giving up with storage_busy.
constexpr int busy_timeout_ms = 5000;
// Wiping the log after a removal waits for readers on older pages: up to this many attempts of
// this long each (SQLite's busy handler retries within one), with a pause between them.
constexpr int wipe_attempts = 3;
constexpr int wipe_busy_timeout_ms = 1000;
constexpr auto wipe_pause = std::chrono::milliseconds(50);

std::error_code error_of(sqlite3* db, int code) {
  const int primary = code & 0xff;
  // The OS error is only meaningful for the codes an OS call failed with.
  const bool from_os = primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN;
  return sqlite_error(code, from_os && db != nullptr ? sqlite3_system_errno(db) : 0);
}

bool on_read_only_mount(const std::filesystem::path& file) {
  auto dir = file.parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  struct statvfs st {};
  return ::statvfs(dir.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
}

// The families must exist (and be scraped as zero) before anything is counted, so they are
// statics; the allocation failure that could throw here would end the process at start anyway.
// NOLINTBEGIN(cert-err58-cpp)
metrics::counter store_errors("hush_store_errors_total",
                              "Storage operations that failed: busy past the timeout, a full or "
                              "read-only disk, I/O errors.");
// NOLINTEND(cert-err58-cpp)

// The one-line reason a connection could not be set up: the disk's state when that is the cause.
std::string open_failure(sqlite3* db, int code) {
  const auto ec = error_of(db, code);
  if (ec == errc::disk_full || ec == errc::read_only) {
    return ec.message();
  }
  return db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
}

}  // namespace

std::string uri_path(const std::string& path) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      out.push_back('%');
      out.push_back(hex[(static_cast<unsigned char>(c) >> 4) & 0xf]);
      out.push_back(hex[static_cast<unsigned char>(c) & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::error_code sqlite_error(int code, int system_errno) {
  if ((code & 0xff) != SQLITE_CONSTRAINT) {
    store_errors.add();  // a constraint is an answer ("that name is taken"), not a failure
  }
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return make_error_code(errc::storage_busy);
    case SQLITE_CONSTRAINT:
      return make_error_code(errc::already_exists);
    case SQLITE_FULL:
      return make_error_code(errc::disk_full);
    case SQLITE_READONLY:
      return make_error_code(errc::read_only);
    default:
      break;
  }
  if (system_errno == ENOSPC || system_errno == EDQUOT) {
    return make_error_code(errc::disk_full);
  }
  if (system_errno == EROFS) {
    return make_error_code(errc::read_only);
  }
  return make_error_code(errc::storage_failure);
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
  return result<bool>(boost::system::in_place_error, error_of(sqlite3_db_handle(stmt_), rc));
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
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
  std::string name = path.string();
  if (on_read_only_mount(path)) {
    // SQLite reads a WAL database on a read-only mount only through its -wal and -shm files.
    // After a clean shutdown there are none (or an empty log), and the database file is the
    // whole database: `immutable` reads it without them, safe because nothing can write to a
    // read-only mount. A log with content is read through the files that are there.
    read_only_ = true;
    std::error_code ec;
    const auto log_size = std::filesystem::file_size(name + "-wal", ec);
    name = "file:" + uri_path(name) + (ec || log_size == 0 ? "?immutable=1" : "?mode=ro");
    flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
  }
  const int rc = sqlite3_open_v2(name.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string reason = open_failure(db_, rc);
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
    if (read_only_ && std::string_view(pragma) == "PRAGMA journal_mode=WAL") {
      continue;  // a read-only database keeps the mode it has
    }
    if (const int prc = sqlite3_exec(db_, pragma, nullptr, nullptr, nullptr); prc != SQLITE_OK) {
      const std::string reason = open_failure(db_, prc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw std::runtime_error(path.string() + ": " + reason);
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
    return error_of(db_, rc);
  }
  cache_.emplace(sql, stmt);
  return sqlite_statement(stmt);
}

result<void> sqlite_connection::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) {
    return error_of(db_, rc);
  }
  return {};
}

std::int64_t sqlite_connection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int sqlite_connection::changes() const {
  return sqlite3_changes(db_);
}

result<void> sqlite_connection::wipe_log() {
  if (read_only_) {
    return {};  // nothing was written, so nothing is in a log
  }
  // TRUNCATE: copy every frame into the database, wait until no reader is on the log, then cut
  // the log to zero bytes. Readers finish in milliseconds here; a long one (a backup, a sqlite3
  // shell in a transaction) makes this fail rather than claim a wipe that did not happen.
  sqlite3_busy_timeout(db_, wipe_busy_timeout_ms);
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < wipe_attempts; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(wipe_pause);
    }
    rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    const int primary = rc & 0xff;
    if (primary != SQLITE_BUSY && primary != SQLITE_LOCKED) {
      break;
    }
  }
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  if (rc == SQLITE_OK) {
    return {};
  }
  // Whatever stopped it (a reader, a full disk), the removal itself has committed.
  return make_error_code(errc::not_wiped);
}

}  // namespace hush::store
