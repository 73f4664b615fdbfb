#pragma once

// What the sqlite_store sources share: the write transaction and the small query helpers every
// store method is written with. Internal to store/sqlite/.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/connection_lease.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace hush::store::sqlite_detail {

// A deferred BEGIN: the first read takes the snapshot that every later read of the transaction
// sees (WAL mode), so a view (or a copy) is read as one moment of the club.
class read_transaction {
 public:
  explicit read_transaction(sqlite_connection& db) : db_(db) {}
  read_transaction(const read_transaction&) = delete;
  read_transaction& operator=(const read_transaction&) = delete;
  ~read_transaction() {
    if (open_) {
      if (auto stmt = db_.prepare("COMMIT")) {
        [[maybe_unused]] auto ended = stmt->run();
      }
    }
  }
  result<void> begin() {
    auto stmt = db_.prepare("BEGIN");
    if (!stmt) {
      return stmt.error();
    }
    auto begun = stmt->run();
    open_ = static_cast<bool>(begun);
    return begun;
  }

 private:
  sqlite_connection& db_;
  bool open_ = false;
};

// BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails half-way because
// another writer came first; rolled back unless committed.
class write_transaction {
 public:
  explicit write_transaction(sqlite_connection& db) : db_(db) {}
  write_transaction(const write_transaction&) = delete;
  write_transaction& operator=(const write_transaction&) = delete;
  ~write_transaction() {
    if (open_) {
      [[maybe_unused]] auto ignored = run("ROLLBACK");
    }
  }
  result<void> begin() {
    auto begun = run("BEGIN IMMEDIATE");
    open_ = static_cast<bool>(begun);
    return begun;
  }
  result<void> commit() {
    auto committed = run("COMMIT");
    if (committed) {
      open_ = false;
    }
    return committed;
  }

 private:
  // Prepared once per connection: parsing BEGIN and COMMIT anew for every audit batch cost more
  // than the inserts it wrapped.
  result<void> run(const char* sql) {
    auto stmt = db_.prepare(sql);
    if (!stmt) {
      return stmt.error();
    }
    return stmt->run();
  }

  sqlite_connection& db_;
  bool open_ = false;
};

inline member_record read_member(const sqlite_statement& stmt) {
  member_record m;
  m.id = member_id{stmt.column_int(0)};
  m.name = stmt.column_text(1);
  parse_role(stmt.column_text(2), m.member_role);
  m.password_hash = stmt.column_text(3);
  m.created_at = stmt.column_int(4);
  return m;
}

// The newest message not expired at `now` that `who` may see (every one when null), recipients
// included; inside the caller's transaction (messages.cpp).
result<message_record> newest_message_in(sqlite_connection& db, std::int64_t now,
                                         const viewer* who);

// Runs a single-statement change and maps "no row changed" to not_found.
template <class Bind>
result<void> change_one(sqlite_connection& db, const char* sql, Bind&& bind) {
  auto stmt = db.prepare(sql);
  if (!stmt) {
    return stmt.error();
  }
  bind(*stmt);
  if (auto done = stmt->run(); !done) {
    return done.error();
  }
  if (db.changes() == 0) {
    return make_error_code(errc::not_found);
  }
  return {};
}

// Runs a query expected to return at most one row, read with `read`; not_found without a row.
template <class Record, class Bind, class Read>
result<Record> query_one(sqlite_connection& db, const char* sql, Bind&& bind, Read&& read) {
  auto stmt = db.prepare(sql);
  if (!stmt) {
    return stmt.error();
  }
  bind(*stmt);
  auto row = stmt->step();
  if (!row) {
    return row.error();
  }
  if (!*row) {
    return make_error_code(errc::not_found);
  }
  return read(*stmt);
}

// Runs a query and reads every row with `read`.
template <class Record, class Bind, class Read>
result<std::vector<Record>> query_all(sqlite_connection& db, const char* sql, Bind&& bind,
                                      Read&& read) {
  auto stmt = db.prepare(sql);
  if (!stmt) {
    return stmt.error();
  }
  bind(*stmt);
  std::vector<Record> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return out;
    }
    out.push_back(read(*stmt));
  }
}

// Checks a meta_guard; for a write transaction that has begun (so that nothing can change the
// value between this check and the commit). conflict when it fails.
inline result<void> check_guard(sqlite_connection& db, const meta_guard& guard) {
  if (guard.name.empty()) {
    return {};
  }
  auto stored = query_one<std::vector<std::uint8_t>>(
      db, "SELECT value FROM club_meta WHERE name = ?1",
      [&](sqlite_statement& s) { s.bind(1, guard.name); },
      [](const sqlite_statement& s) { return s.column_blob(0); });
  if (!stored) {
    return stored.error() == errc::not_found ? result<void>() : result<void>(stored.error());
  }
  if (!constant_time_equal(std::span<const std::uint8_t>(*stored), guard.expected)) {
    return make_error_code(errc::conflict);
  }
  return {};
}

// Inserts a row whose sealed column depends on its own id: the insert reserves the id with an
// empty value, and the sealed value replaces it before the transaction commits. The plaintext
// never reaches the database. `also`, when given, runs in the same transaction once the row is in
// (rows that name it).
inline result<std::int64_t> insert_sealed(
    sqlite_connection& db, const char* insert_sql, const char* update_sql,
    const std::function<void(sqlite_statement&)>& bind, const sealer& seal,
    const meta_guard& guard = {},
    const std::function<result<void>(std::int64_t id)>& also = nullptr) {
  write_transaction tx(db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  if (auto guarded = check_guard(db, guard); !guarded) {
    return guarded.error();
  }
  auto insert = db.prepare(insert_sql);
  if (!insert) {
    return insert.error();
  }
  bind(*insert);
  if (auto done = insert->run(); !done) {
    return done.error();
  }
  const std::int64_t id = db.last_insert_rowid();
  auto sealed = seal(id);
  if (!sealed) {
    return sealed.error();
  }
  auto update = db.prepare(update_sql);
  if (!update) {
    return update.error();
  }
  update->bind(1, std::span<const std::uint8_t>(*sealed)).bind(2, id);
  if (auto done = update->run(); !done) {
    return done.error();
  }
  if (also) {
    if (auto done = also(id); !done) {
      return done.error();
    }
  }
  if (auto committed = tx.commit(); !committed) {
    return committed.error();
  }
  return id;
}

inline client_cert_record read_client_cert(const sqlite_statement& stmt) {
  return client_cert_record{stmt.column_text(0), stmt.column_text(1), stmt.column_int(2),
                            stmt.column_int(3), stmt.column_int(4)};
}

inline result<std::size_t> revoke_certs_of(sqlite_connection& db, std::string_view member,
                                           std::int64_t at) {
  auto stmt =
      db.prepare("UPDATE client_certs SET revoked_at = ?2 WHERE member = ?1 AND revoked_at = 0");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, member).bind(2, at);
  if (auto done = stmt->run(); !done) {
    return done.error();
  }
  return static_cast<std::size_t>(db.changes());
}

}  // namespace hush::store::sqlite_detail
