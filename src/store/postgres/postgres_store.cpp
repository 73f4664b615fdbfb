// postgres_store: the pool, the schema's migrations, members, club values and the read views.
// messages.cpp holds data keys and messages; credentials.cpp tokens, sessions and certificates;
// audit.cpp the audit trail; changes.cpp the change feed; guesses.cpp the throttle's counts;
// copy.cpp a whole club copied out and in.
#include "store/postgres/postgres_store.hpp"

#include <stdexcept>

#include "core/log.hpp"
#include "store/postgres/migrations.hpp"
#include "store/postgres/queries.hpp"

namespace hush::store {

using namespace postgres_detail;  // NOLINT(google-build-using-namespace): our own helpers

namespace {

// Startup only: one line that says why. Appended piece by piece (gcc 12's -Wrestrict at -O3).
[[noreturn]] void refuse(std::string_view what, std::string_view detail = {}) {
  std::string message = "PostgreSQL store: ";
  message += what;
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  throw std::runtime_error(message);
}

// A migration may wait for another instance's, and may take longer than any query: its own
// bounds, for its transaction only.
constexpr const char* migration_timeouts =
    "SET LOCAL statement_timeout = '5min'; SET LOCAL lock_timeout = '5min'";

}  // namespace

postgres_store::postgres_store(std::string conninfo, pg_timeouts timeouts)
    : conninfo_(std::move(conninfo)), timeouts_(timeouts) {
  std::string why;
  auto first = pg_connection::connect(conninfo_, timeouts_, &why);
  if (!first) {
    refuse("cannot connect", why);
  }
  migrate(**first);
  open_ = 1;
  idle_.push_back(std::move(*first));
}

postgres_store::~postgres_store() = default;

void postgres_store::migrate(pg_connection& db) {
  const auto latest = static_cast<std::int64_t>(postgres_migrations::steps.size());
  const auto version = [&]() -> std::int64_t {
    auto exists = query_one<std::int64_t>(
        db, "SELECT to_regclass('hush_schema_version') IS NOT NULL", {},
        [](const pg_rows& rows, std::size_t r) { return rows.column_int(r, 0); });
    if (!exists) {
      refuse("cannot read the schema version", db.error_message());
    }
    if (*exists == 0) {
      return 0;
    }
    auto stored = query_one<std::int64_t>(
        db, "SELECT version FROM hush_schema_version WHERE id = 1", {},
        [](const pg_rows& rows, std::size_t r) { return rows.column_int(r, 0); });
    if (!stored && stored.error() != errc::not_found) {
      refuse("cannot read the schema version", db.error_message());
    }
    return stored ? *stored : 0;
  };
  // Opening an up-to-date club writes nothing.
  auto current = version();
  if (current == latest) {
    return;
  }
  if (current > latest) {
    refuse("the database schema is newer than this hush; upgrade hush");
  }
  // Instances starting together queue on the lock; each checks again once it holds it, so only
  // the first migrates, and a migration that fails leaves nothing behind (DDL is transactional).
  transaction tx(db);
  if (!tx.begin() || !db.exec(migration_timeouts) || !advisory_lock(db, schema_lock) ||
      !db.exec("CREATE TABLE IF NOT EXISTS hush_schema_version ("
               "id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)")) {
    refuse("cannot lock the schema for its migration", db.error_message());
  }
  current = version();
  if (current > latest) {
    refuse("the database schema is newer than this hush; upgrade hush");
  }
  for (auto step = current; step < latest; ++step) {
    if (!db.exec(postgres_migrations::steps[static_cast<std::size_t>(step)])) {
      std::string what = "schema migration ";
      what += std::to_string(step + 1);
      what += " failed";
      refuse(what, db.error_message());
    }
  }
  auto recorded = db.run(
      "INSERT INTO hush_schema_version (id, version) VALUES (1, $1::bigint) "
      "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version",
      pg_params{}.add(latest));
  if (!recorded || !tx.commit()) {
    refuse("cannot record the schema version", db.error_message());
  }
}

result<postgres_store::lease> postgres_store::acquire() {
  std::unique_lock lock(pool_mutex_);
  for (;;) {
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      // A connection the server closed while it sat here (a restart, a failover, a terminated
      // backend) is dropped now rather than failing the call it would serve.
      if (!connection->broken()) {
        return lease(*this, std::move(connection));
      }
      connection.reset();
      lock.lock();
      --open_;
      continue;
    }
    if (open_ < max_connections) {
      ++open_;
      lock.unlock();
      std::string why;
      auto made = pg_connection::connect(conninfo_, timeouts_, &why);
      if (made) {
        return lease(*this, std::move(*made));
      }
      forget_one();
      static log::rate_limited connect_log(std::chrono::seconds(10));
      std::string line = "PostgreSQL store: cannot connect: ";
      line += why;
      connect_log.write(log::level::warn, line);
      return made.error();
    }
    if (!pool_freed_.wait_for(lock, timeouts_.statement,
                              [&] { return !idle_.empty() || open_ < max_connections; })) {
      return make_error_code(errc::storage_busy);
    }
  }
}

void postgres_store::give_back(std::unique_ptr<pg_connection> connection) {
  if (connection->broken()) {
    connection.reset();
    forget_one();
    return;
  }
  {
    std::lock_guard lock(pool_mutex_);
    idle_.push_back(std::move(connection));
  }
  pool_freed_.notify_one();
}

void postgres_store::forget_one() {
  {
    std::lock_guard lock(pool_mutex_);
    --open_;
  }
  pool_freed_.notify_one();
}

result<member_id> postgres_store::add_member(std::string_view name, role member_role,
                                             std::string_view password_hash, std::int64_t now) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  auto id = query_one<std::int64_t>(
      **db,
      "INSERT INTO members (name, role, password_hash, created_at) "
      "VALUES ($1::text, $2::text, $3::text, $4::bigint) RETURNING id",
      pg_params{}.add(name).add(to_string(member_role)).add(password_hash).add(now),
      [](const pg_rows& rows, std::size_t r) { return rows.column_int(r, 0); });
  if (!id) {
    return id.error();
  }
  return member_id{*id};
}

result<member_record> postgres_store::find_member(std::string_view name) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_one<member_record>(
      **db, "SELECT id, name, role, password_hash, created_at FROM members WHERE name = $1::text",
      pg_params{}.add(name),
      [](const pg_rows& rows, std::size_t r) { return read_member(rows, r); });
}

result<std::vector<member_record>> postgres_store::list_members() {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_all<member_record>(
      **db, "SELECT id, name, role, password_hash, created_at FROM members ORDER BY name", {},
      [](const pg_rows& rows, std::size_t r) { return read_member(rows, r); });
}

namespace {

// The generation's row first, before any other row lock (the order the triggers keep), for a
// transaction that locks rows of its own before it changes a watched table.
result<void> lock_generation(pg_connection& db) {
  auto locked = db.run("SELECT value FROM change_generation WHERE id = 1 FOR UPDATE");
  if (!locked) {
    return locked.error();
  }
  return {};
}

struct current_role {
  std::string role_name;
  std::int64_t admins = 0;
};

// The member's role and the club's count of admins, for a change decided under admins_lock.
result<current_role> role_and_admins(pg_connection& db, std::string_view name) {
  return query_one<current_role>(
      db,
      "SELECT role, (SELECT count(*) FROM members WHERE role = 'admin') FROM members "
      "WHERE name = $1::text",
      pg_params{}.add(name), [](const pg_rows& rows, std::size_t r) {
        return current_role{rows.column_text(r, 0), rows.column_int(r, 1)};
      });
}

}  // namespace

result<void> postgres_store::remove_member(std::string_view name, std::int64_t now) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return retried(**db, [&]() -> result<void> {
    // One transaction: a member is never gone while a certificate of theirs still looks valid.
    transaction tx(**db);
    if (auto begun = tx.begin(); !begun) {
      return begun;
    }
    // Every removal and role change holds admins_lock: no other can change the count of admins
    // between this check and the delete.
    if (auto locked = advisory_lock(**db, admins_lock); !locked) {
      return locked;
    }
    if (auto locked = lock_generation(**db); !locked) {
      return locked;
    }
    auto current = role_and_admins(**db, name);
    if (!current) {
      return current.error();
    }
    if (current->role_name == "admin" && current->admins <= 1) {
      return make_error_code(errc::conflict);
    }
    // Holding the generation's lock: a certificate added meanwhile (add_client_cert waits on
    // it) is either seen here and revoked, or finds the member gone.
    if (auto revoked = revoke_certs_of(**db, name, now); !revoked) {
      return revoked.error();
    }
    if (auto removed =
            change_one(**db, "DELETE FROM members WHERE name = $1::text", pg_params{}.add(name));
        !removed) {
      return removed;
    }
    return tx.commit();
  });
}

result<role> postgres_store::set_member_role(std::string_view name, role new_role) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return retried(**db, [&]() -> result<role> {
    transaction tx(**db);
    if (auto begun = tx.begin(); !begun) {
      return begun.error();
    }
    if (auto locked = advisory_lock(**db, admins_lock); !locked) {
      return locked.error();
    }
    auto current = role_and_admins(**db, name);
    if (!current) {
      return current.error();
    }
    role old_role{};
    if (!parse_role(current->role_name, old_role)) {
      return make_error_code(errc::storage_failure);
    }
    if (old_role == role::admin && new_role != role::admin && current->admins <= 1) {
      return make_error_code(errc::conflict);
    }
    if (old_role == new_role) {
      return old_role;
    }
    if (auto changed = change_one(**db, "UPDATE members SET role = $2::text WHERE name = $1::text",
                                  pg_params{}.add(name).add(to_string(new_role)));
        !changed) {
      return changed.error();
    }
    if (auto committed = tx.commit(); !committed) {
      return committed.error();
    }
    return old_role;
  });
}

result<void> postgres_store::replace_password_hash(std::string_view name, std::string_view expected,
                                                   std::string_view replacement) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return change_one(**db,
                    "UPDATE members SET password_hash = $3::text "
                    "WHERE name = $1::text AND password_hash = $2::text",
                    pg_params{}.add(name).add(expected).add(replacement));
}

result<void> postgres_store::set_password_hash(std::string_view name, std::string_view hash,
                                               std::optional<std::string_view> expected) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return retried(**db, [&]() -> result<void> {
    transaction tx(**db);
    if (auto begun = tx.begin(); !begun) {
      return begun;
    }
    // The member's row, locked: no other change, and no login's add_session (which locks it
    // too), can come between this read of the hash and the update.
    auto stored = query_one<std::string>(
        **db, "SELECT password_hash FROM members WHERE name = $1::text FOR NO KEY UPDATE",
        pg_params{}.add(name),
        [](const pg_rows& rows, std::size_t r) { return rows.column_text(r, 0); });
    if (!stored) {
      return stored.error();
    }
    if (expected && *stored != *expected) {
      return make_error_code(errc::conflict);
    }
    if (auto changed =
            change_one(**db, "UPDATE members SET password_hash = $2::text WHERE name = $1::text",
                       pg_params{}.add(name).add(hash));
        !changed) {
      return changed;
    }
    // Whoever logged in with the old password is logged out with it, the session the change was
    // made in too: a stolen cookie must not outlive the change (the changer gets a new session).
    if (auto ended =
            (*db)->run("DELETE FROM sessions WHERE member = $1::text", pg_params{}.add(name));
        !ended) {
      return ended.error();
    }
    return tx.commit();
  });
}

result<std::vector<std::uint8_t>> postgres_store::club_meta(std::string_view name) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_one<std::vector<std::uint8_t>>(
      **db, "SELECT value FROM club_meta WHERE name = $1::text", pg_params{}.add(name),
      [](const pg_rows& rows, std::size_t r) { return rows.column_blob(r, 0); });
}

result<void> postgres_store::set_club_meta_once(std::string_view name,
                                                std::span<const std::uint8_t> value) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  auto done = (*db)->run(
      "INSERT INTO club_meta (name, value) VALUES ($1::text, $2::bytea) "
      "ON CONFLICT (name) DO NOTHING",
      pg_params{}.add(name).add(value));
  if (!done) {
    return done.error();
  }
  return {};
}

result<read_snapshot> postgres_store::snapshot(std::int64_t now) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // One snapshot for every read below: a view is one moment of the club.
  transaction tx(**db);
  if (auto begun = tx.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !begun) {
    return begun.error();
  }
  // Exactness rests on the triggers that move the generation: a database where one was dropped
  // or disabled gives no view at all, and every read is served from the database.
  auto triggers = query_one<std::int64_t>(
      **db, postgres_migrations::change_triggers_sql, {},
      [](const pg_rows& rows, std::size_t r) { return rows.column_int(r, 0); });
  if (!triggers) {
    return triggers.error();
  }
  if (*triggers != postgres_migrations::change_triggers) {
    static log::rate_limited missing_log(std::chrono::minutes(1));
    missing_log.write(log::level::warn,
                      "the database lacks a change_generation trigger (dropped or disabled by "
                      "hand?): every read is served from the database, none from memory");
    return make_error_code(errc::storage_failure);
  }
  read_snapshot view;
  auto generation = read_generation(**db, "SELECT value FROM change_generation WHERE id = 1");
  if (!generation) {
    return generation.error();
  }
  view.generation = *generation;
  auto tokens = query_all<token_entry>(
      **db,
      "SELECT t.hash, t.expires_at, m.id, m.name, m.role, m.password_hash, m.created_at "
      "FROM tokens t JOIN members m ON m.name = t.member",
      {}, [](const pg_rows& rows, std::size_t r) {
        token_entry entry;
        entry.hash = rows.column_blob(r, 0);
        entry.expires_at = rows.column_int(r, 1);
        entry.member = read_member(rows, r, 2);
        return entry;
      });
  if (!tokens) {
    return tokens.error();
  }
  view.tokens = std::move(*tokens);
  auto members = query_all<member_record>(
      **db, "SELECT id, name, role, password_hash, created_at FROM members", {},
      [](const pg_rows& rows, std::size_t r) { return read_member(rows, r); });
  if (!members) {
    return members.error();
  }
  view.members = std::move(*members);
  auto newest = newest_message_in(**db, now, nullptr);
  if (newest) {
    view.newest = std::move(*newest);
  } else if (newest.error() != errc::not_found) {
    return newest.error();
  }
  if (auto ended = tx.commit(); !ended) {
    return ended.error();
  }
  return view;
}

result<std::uint64_t> postgres_store::generation() {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return read_generation(**db, "SELECT value FROM change_generation WHERE id = 1");
}

}  // namespace hush::store
