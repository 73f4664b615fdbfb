#include "store/sqlite/sqlite_store.hpp"

#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/migrations.hpp"

namespace hush::store {

// A connection taken from the pool for the length of one store call.
class sqlite_store::lease {
 public:
  lease(sqlite_store& owner, std::unique_ptr<sqlite_connection> connection)
      : owner_(owner), connection_(std::move(connection)) {}
  lease(lease&&) = default;
  ~lease() {
    if (connection_) {
      std::lock_guard lock(owner_.pool_mutex_);
      owner_.idle_.push_back(std::move(connection_));
    }
  }
  sqlite_connection* operator->() { return connection_.get(); }
  sqlite_connection& operator*() { return *connection_; }

 private:
  sqlite_store& owner_;
  std::unique_ptr<sqlite_connection> connection_;
};

namespace {

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

member_record read_member(const sqlite_statement& stmt) {
  member_record m;
  m.id = member_id{stmt.column_int(0)};
  m.name = stmt.column_text(1);
  parse_role(stmt.column_text(2), m.member_role);
  m.password_hash = stmt.column_text(3);
  m.created_at = stmt.column_int(4);
  return m;
}

message_record read_message(const sqlite_statement& stmt) {
  message_record m;
  m.id = message_id{stmt.column_int(0)};
  m.author = stmt.column_text(1);
  m.created_at = stmt.column_int(2);
  m.sealed = stmt.column_blob(3);
  parse_message_format(stmt.column_text(4), m.format);
  return m;
}

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

// Inserts a row whose sealed column depends on its own id: the insert reserves the id with an
// empty value, and the sealed value replaces it before the transaction commits. The plaintext
// never reaches the database.
result<std::int64_t> insert_sealed(sqlite_connection& db, const char* insert_sql,
                                   const char* update_sql,
                                   const std::function<void(sqlite_statement&)>& bind,
                                   const sealer& seal) {
  write_transaction tx(db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
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
  if (auto committed = tx.commit(); !committed) {
    return committed.error();
  }
  return id;
}

client_cert_record read_client_cert(const sqlite_statement& stmt) {
  return client_cert_record{stmt.column_text(0), stmt.column_text(1), stmt.column_int(2),
                            stmt.column_int(3), stmt.column_int(4)};
}

result<std::size_t> revoke_certs_of(sqlite_connection& db, std::string_view member,
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

}  // namespace

sqlite_store::sqlite_store(std::filesystem::path path) : path_(std::move(path)) {
  if (!std::filesystem::exists(path_)) {
    throw std::runtime_error(path_.string() + ": no database (run hush init first)");
  }
  auto db = acquire();
  write_transaction tx(*db);
  if (!tx.begin()) {
    throw std::runtime_error(path_.string() + ": database is locked");
  }
  auto version = db->prepare("PRAGMA user_version");
  if (!version || !version->step()) {
    throw std::runtime_error(path_.string() + ": not a hush database");
  }
  const auto current = static_cast<std::size_t>(version->column_int(0));
  if (current > sqlite_migrations::steps.size()) {
    throw std::runtime_error(path_.string() +
                             ": database schema is newer than this hush; upgrade hush");
  }
  for (std::size_t step = current; step < sqlite_migrations::steps.size(); ++step) {
    if (!db->exec(sqlite_migrations::steps[step])) {
      throw std::runtime_error(path_.string() + ": schema migration " + std::to_string(step + 1) +
                               " failed");
    }
  }
  const std::string set_version =
      "PRAGMA user_version=" + std::to_string(sqlite_migrations::steps.size());
  if (!db->exec(set_version.c_str()) || !tx.commit()) {
    throw std::runtime_error(path_.string() + ": cannot record the schema version");
  }
}

sqlite_store::~sqlite_store() = default;

sqlite_store::lease sqlite_store::acquire() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return {*this, std::move(connection)};
    }
  }
  return {*this, std::make_unique<sqlite_connection>(path_)};
}

result<member_id> sqlite_store::add_member(std::string_view name, role member_role,
                                           std::string_view password_hash, std::int64_t now) {
  auto db = acquire();
  auto stmt = db->prepare(
      "INSERT INTO members (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, name).bind(2, to_string(member_role)).bind(3, password_hash).bind(4, now);
  if (auto done = stmt->run(); !done) {
    return done.error();
  }
  return member_id{db->last_insert_rowid()};
}

result<member_record> sqlite_store::find_member(std::string_view name) {
  auto db = acquire();
  return query_one<member_record>(
      *db, "SELECT id, name, role, password_hash, created_at FROM members WHERE name = ?1",
      [&](sqlite_statement& s) { s.bind(1, name); }, read_member);
}

result<std::vector<member_record>> sqlite_store::list_members() {
  auto db = acquire();
  return query_all<member_record>(
      *db, "SELECT id, name, role, password_hash, created_at FROM members ORDER BY name",
      [](sqlite_statement&) {}, read_member);
}

result<void> sqlite_store::remove_member(std::string_view name, std::int64_t now) {
  auto db = acquire();
  // One transaction: a member is never gone while a certificate of theirs still looks valid.
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  if (auto revoked = revoke_certs_of(*db, name, now); !revoked) {
    return revoked.error();
  }
  if (auto removed = change_one(*db, "DELETE FROM members WHERE name = ?1",
                                [&](sqlite_statement& s) { s.bind(1, name); });
      !removed) {
    return removed.error();
  }
  return tx.commit();
}

result<void> sqlite_store::replace_password_hash(std::string_view name, std::string_view expected,
                                                 std::string_view replacement) {
  auto db = acquire();
  return change_one(
      *db, "UPDATE members SET password_hash = ?3 WHERE name = ?1 AND password_hash = ?2",
      [&](sqlite_statement& s) { s.bind(1, name).bind(2, expected).bind(3, replacement); });
}

result<void> sqlite_store::set_password_hash(std::string_view name, std::string_view hash) {
  auto db = acquire();
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  if (auto changed = change_one(*db, "UPDATE members SET password_hash = ?2 WHERE name = ?1",
                                [&](sqlite_statement& s) { s.bind(1, name).bind(2, hash); });
      !changed) {
    return changed;
  }
  // Whoever logged in with the old password is logged out with it.
  auto ended = db->prepare("DELETE FROM sessions WHERE member = ?1");
  if (!ended) {
    return ended.error();
  }
  ended->bind(1, name);
  if (auto done = ended->run(); !done) {
    return done;
  }
  return tx.commit();
}

result<std::uint32_t> sqlite_store::add_data_key(const sealer& wrap, std::int64_t now) {
  auto db = acquire();
  auto id = insert_sealed(
      *db, "INSERT INTO data_keys (wrapped, created_at) VALUES (x'', ?1)",
      "UPDATE data_keys SET wrapped = ?1 WHERE id = ?2",
      [&](sqlite_statement& s) { s.bind(1, now); }, wrap);
  if (!id) {
    return id.error();
  }
  return static_cast<std::uint32_t>(*id);
}

result<data_key_record> sqlite_store::newest_data_key() {
  auto db = acquire();
  return query_one<data_key_record>(
      *db, "SELECT id, wrapped FROM data_keys ORDER BY id DESC LIMIT 1", [](sqlite_statement&) {},
      [](const sqlite_statement& s) {
        return data_key_record{static_cast<std::uint32_t>(s.column_int(0)), s.column_blob(1)};
      });
}

result<data_key_record> sqlite_store::data_key(std::uint32_t id) {
  auto db = acquire();
  return query_one<data_key_record>(
      *db, "SELECT id, wrapped FROM data_keys WHERE id = ?1",
      [&](sqlite_statement& s) { s.bind(1, std::int64_t{id}); },
      [](const sqlite_statement& s) {
        return data_key_record{static_cast<std::uint32_t>(s.column_int(0)), s.column_blob(1)};
      });
}

result<message_id> sqlite_store::add_message(std::string_view author, std::int64_t now,
                                             message_format format, const sealer& seal) {
  auto db = acquire();
  auto id = insert_sealed(
      *db, "INSERT INTO messages (author, created_at, sealed, format) VALUES (?1, ?2, x'', ?3)",
      "UPDATE messages SET sealed = ?1 WHERE id = ?2",
      [&](sqlite_statement& s) { s.bind(1, author).bind(2, now).bind(3, to_string(format)); },
      seal);
  if (!id) {
    return id.error();
  }
  return message_id{*id};
}

result<message_record> sqlite_store::newest_message() {
  auto db = acquire();
  return query_one<message_record>(
      *db, "SELECT id, author, created_at, sealed, format FROM messages ORDER BY id DESC LIMIT 1",
      [](sqlite_statement&) {}, read_message);
}

result<message_record> sqlite_store::message(message_id id) {
  auto db = acquire();
  return query_one<message_record>(
      *db, "SELECT id, author, created_at, sealed, format FROM messages WHERE id = ?1",
      [&](sqlite_statement& s) { s.bind(1, id.value); }, read_message);
}

result<std::vector<message_summary>> sqlite_store::list_messages(std::optional<message_id> before,
                                                                 std::size_t limit) {
  auto db = acquire();
  // Keyset pagination on the primary key: every page is an index range scan, however deep.
  return query_all<message_summary>(
      *db,
      "SELECT id, author, created_at, format FROM messages WHERE id < ?1 ORDER BY id DESC "
      "LIMIT ?2",
      [&](sqlite_statement& s) {
        s.bind(1, before ? before->value : INT64_MAX).bind(2, static_cast<std::int64_t>(limit));
      },
      [](const sqlite_statement& s) {
        message_summary m{message_id{s.column_int(0)}, s.column_text(1), s.column_int(2)};
        parse_message_format(s.column_text(3), m.format);
        return m;
      });
}

result<void> sqlite_store::remove_message(message_id id) {
  auto db = acquire();
  return change_one(*db, "DELETE FROM messages WHERE id = ?1",
                    [&](sqlite_statement& s) { s.bind(1, id.value); });
}

result<void> sqlite_store::add_token(const token_record& token,
                                     std::span<const std::uint8_t> hash) {
  auto db = acquire();
  // The foreign key refuses a token for a member that does not exist.
  if (!find_member(token.member)) {
    return make_error_code(errc::not_found);
  }
  auto stmt = db->prepare(
      "INSERT INTO tokens (name, member, hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, "
      "?5)");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, token.name)
      .bind(2, token.member)
      .bind(3, hash)
      .bind(4, token.created_at)
      .bind(5, token.expires_at);
  return stmt->run();
}

result<member_record> sqlite_store::member_by_token(std::span<const std::uint8_t> hash,
                                                    std::int64_t now) {
  auto db = acquire();
  return query_one<member_record>(
      *db,
      "SELECT m.id, m.name, m.role, m.password_hash, m.created_at FROM tokens t "
      "JOIN members m ON m.name = t.member "
      "WHERE t.hash = ?1 AND (t.expires_at = 0 OR t.expires_at > ?2)",
      [&](sqlite_statement& s) { s.bind(1, hash).bind(2, now); }, read_member);
}

result<void> sqlite_store::add_session(std::span<const std::uint8_t> hash, std::string_view member,
                                       std::int64_t now, session_limits limits) {
  auto db = acquire();
  if (!find_member(member)) {
    return make_error_code(errc::not_found);
  }
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  auto sweep =
      db->prepare("DELETE FROM sessions WHERE last_used_at <= ?1 - ?2 OR created_at <= ?1 - ?3");
  if (!sweep) {
    return sweep.error();
  }
  sweep->bind(1, now).bind(2, limits.idle).bind(3, limits.absolute);
  if (auto done = sweep->run(); !done) {
    return done;
  }
  auto insert = db->prepare(
      "INSERT INTO sessions (hash, member, created_at, last_used_at) VALUES (?1, ?2, ?3, ?3)");
  if (!insert) {
    return insert.error();
  }
  insert->bind(1, hash).bind(2, member).bind(3, now);
  if (auto done = insert->run(); !done) {
    return done;
  }
  return tx.commit();
}

result<member_record> sqlite_store::member_by_session(std::span<const std::uint8_t> hash,
                                                      std::int64_t now, session_limits limits) {
  struct found_session {
    member_record member;
    std::int64_t created_at = 0;
    std::int64_t last_used_at = 0;
  };
  auto db = acquire();
  auto found = query_one<found_session>(
      *db,
      "SELECT m.id, m.name, m.role, m.password_hash, m.created_at, s.created_at, s.last_used_at "
      "FROM sessions s JOIN members m ON m.name = s.member WHERE s.hash = ?1",
      [&](sqlite_statement& s) { s.bind(1, hash); },
      [](const sqlite_statement& s) {
        return found_session{read_member(s), s.column_int(5), s.column_int(6)};
      });
  if (!found) {
    return found.error();
  }
  // An expired session stays expired (never touched again) until the next login sweeps it, so
  // every tab and every request in flight hears the same "expired", not a later "unknown".
  if (now - found->last_used_at >= limits.idle || now - found->created_at >= limits.absolute) {
    return make_error_code(errc::expired);
  }
  // Idle time is kept to the minute: one write a minute per session, not one per request.
  constexpr std::int64_t use_granularity = 60;
  if (now - found->last_used_at >= use_granularity) {
    if (auto touched = change_one(*db, "UPDATE sessions SET last_used_at = ?2 WHERE hash = ?1",
                                  [&](sqlite_statement& s) { s.bind(1, hash).bind(2, now); });
        !touched && touched.error() != errc::not_found) {
      return touched.error();
    }
  }
  return std::move(found->member);
}

result<void> sqlite_store::remove_session(std::span<const std::uint8_t> hash) {
  auto db = acquire();
  return change_one(*db, "DELETE FROM sessions WHERE hash = ?1",
                    [&](sqlite_statement& s) { s.bind(1, hash); });
}

result<std::vector<token_record>> sqlite_store::list_tokens() {
  auto db = acquire();
  return query_all<token_record>(
      *db, "SELECT name, member, created_at, expires_at FROM tokens ORDER BY member, name",
      [](sqlite_statement&) {},
      [](const sqlite_statement& s) {
        return token_record{s.column_text(0), s.column_text(1), s.column_int(2), s.column_int(3)};
      });
}

result<void> sqlite_store::remove_token(std::string_view name) {
  auto db = acquire();
  return change_one(*db, "DELETE FROM tokens WHERE name = ?1",
                    [&](sqlite_statement& s) { s.bind(1, name); });
}

result<void> sqlite_store::add_client_cert(const client_cert_record& cert) {
  auto db = acquire();
  // INSERT ... SELECT: the member check and the insert are one statement, so a member removed
  // meanwhile cannot end up with a certificate recorded after their removal.
  auto stmt = db->prepare(
      "INSERT INTO client_certs (serial, member, issued_at, expires_at, revoked_at) "
      "SELECT ?1, name, ?3, ?4, ?5 FROM members WHERE name = ?2");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, cert.serial)
      .bind(2, cert.member)
      .bind(3, cert.issued_at)
      .bind(4, cert.expires_at)
      .bind(5, cert.revoked_at);
  if (auto done = stmt->run(); !done) {
    return done.error();
  }
  if (db->changes() == 0) {
    return make_error_code(errc::not_found);
  }
  return {};
}

result<void> sqlite_store::revoke_client_cert(std::string_view serial, std::int64_t at) {
  auto db = acquire();
  // A second revocation keeps the first date: the CRL must not move a revocation later.
  return change_one(*db,
                    "UPDATE client_certs SET revoked_at = "
                    "CASE WHEN revoked_at = 0 THEN ?2 ELSE revoked_at END WHERE serial = ?1",
                    [&](sqlite_statement& s) { s.bind(1, serial).bind(2, at); });
}

result<std::size_t> sqlite_store::revoke_member_certs(std::string_view member, std::int64_t at) {
  auto db = acquire();
  return revoke_certs_of(*db, member, at);
}

result<std::vector<revoked_cert>> sqlite_store::list_revoked_certs() {
  auto db = acquire();
  return query_all<revoked_cert>(
      *db,
      "SELECT serial, revoked_at FROM client_certs WHERE revoked_at != 0 "
      "ORDER BY revoked_at, serial",
      [](sqlite_statement&) {},
      [](const sqlite_statement& s) {
        return revoked_cert{s.column_text(0), s.column_int(1)};
      });
}

result<client_cert_record> sqlite_store::client_cert_status(std::string_view serial) {
  auto db = acquire();
  return query_one<client_cert_record>(
      *db,
      "SELECT serial, member, issued_at, expires_at, revoked_at FROM client_certs "
      "WHERE serial = ?1",
      [&](sqlite_statement& s) { s.bind(1, serial); }, read_client_cert);
}

result<void> sqlite_store::add_audit(const audit_record& record) {
  return add_audits(std::span(&record, 1));
}

result<void> sqlite_store::add_audits(std::span<const audit_record> records) {
  auto db = acquire();
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  for (const auto& record : records) {
    auto stmt =
        db->prepare("INSERT INTO audit (at, member, message_id, remote) VALUES (?1, ?2, ?3, ?4)");
    if (!stmt) {
      return stmt.error();
    }
    stmt->bind(1, record.at)
        .bind(2, record.member)
        .bind(3, record.message.value)
        .bind(4, record.remote);
    if (auto done = stmt->run(); !done) {
      return done.error();
    }
  }
  return tx.commit();
}

result<std::vector<audit_record>> sqlite_store::list_audit(std::size_t limit) {
  auto db = acquire();
  return query_all<audit_record>(
      *db,
      "SELECT at, member, message_id, remote FROM "
      "(SELECT id, at, member, message_id, remote FROM audit ORDER BY id DESC LIMIT ?1) "
      "ORDER BY id",
      [&](sqlite_statement& s) { s.bind(1, static_cast<std::int64_t>(limit)); },
      [](const sqlite_statement& s) {
        return audit_record{s.column_int(0), s.column_text(1), message_id{s.column_int(2)},
                            s.column_text(3)};
      });
}

bool sqlite_store::integrity_ok() {
  auto db = acquire();
  auto stmt = db->prepare("PRAGMA integrity_check");
  if (!stmt) {
    return false;
  }
  auto row = stmt->step();
  return row && *row && stmt->column_text(0) == "ok";
}

}  // namespace hush::store
