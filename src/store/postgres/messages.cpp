// postgres_store: data keys and messages.
#include <optional>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/postgres/queries.hpp"

namespace hush::store {

using namespace postgres_detail;  // NOLINT(google-build-using-namespace): our own helpers

namespace {

// Checks a meta_guard, inside a transaction that holds keys_lock (so that no rotation can change
// the value between this check and the commit). conflict when it fails.
result<void> check_guard(pg_connection& db, const meta_guard& guard) {
  if (guard.name.empty()) {
    return {};
  }
  auto stored = query_one<std::vector<std::uint8_t>>(
      db, "SELECT value FROM club_meta WHERE name = $1::text", pg_params{}.add(guard.name),
      [](const pg_rows& rows, std::size_t r) { return rows.column_blob(r, 0); });
  if (!stored) {
    return stored.error() == errc::not_found ? result<void>() : result<void>(stored.error());
  }
  if (!constant_time_equal(std::span<const std::uint8_t>(*stored), guard.expected)) {
    return make_error_code(errc::conflict);
  }
  return {};
}

data_key_record read_key(const pg_rows& rows, std::size_t r) {
  return data_key_record{static_cast<std::uint32_t>(rows.column_int(r, 0)), rows.column_blob(r, 1)};
}

// The connection a sealer runs under on this thread: the data key it asks the store for is read
// there, inside the inserting transaction, rather than on a second connection from the pool,
// which inserts waiting for this one's lock could have taken every one of.
// Kept with the store it belongs to: a sealer that asked another store would not be answered
// from this one's transaction.
struct sealing_connection {
  const postgres_store* store = nullptr;
  pg_connection* connection = nullptr;
};
thread_local sealing_connection sealing_on;

// This thread's sealing connection, if `store` is sealing on it now.
pg_connection* sealing_connection_of(const postgres_store* store) {
  return sealing_on.store == store ? sealing_on.connection : nullptr;
}

// Inserts a row whose sealed column depends on its own id, under `lock`: the id is drawn from
// the table's sequence first, sealed, and the row written once with it. The plaintext never
// reaches the database. Never retried: the sealer runs at most once. With `shared_lock`, that
// lock is also held shared (a message holds the data keys' lock so: no key is added or removed
// while a body is sealed under the newest one).
result<std::int64_t> insert_sealed(const postgres_store* store, pg_connection& db,
                                   std::int64_t lock, const char* next_id_sql,
                                   const char* insert_sql, pg_params params, const sealer& seal,
                                   const meta_guard& guard = {},
                                   std::optional<std::int64_t> shared_lock = std::nullopt) {
  transaction tx(db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  // Under the lock, ids commit in the order they are drawn: a newer id is never seen before an
  // older one, which keyset pages and "the newest" rely on.
  if (auto locked = advisory_lock(db, lock); !locked) {
    return locked.error();
  }
  if (shared_lock) {
    if (auto shared = db.run("SELECT pg_advisory_xact_lock_shared($1::bigint)",
                             pg_params{}.add(*shared_lock));
        !shared) {
      return shared.error();
    }
  }
  if (auto guarded = check_guard(db, guard); !guarded) {
    return guarded.error();
  }
  auto id = query_one<std::int64_t>(db, next_id_sql, {}, [](const pg_rows& rows, std::size_t r) {
    return rows.column_int(r, 0);
  });
  if (!id) {
    return id.error();
  }
  struct sealing_here {
    sealing_here(const postgres_store* owner, pg_connection& connection) {
      sealing_on = {owner, &connection};
    }
    ~sealing_here() { sealing_on = {}; }
    sealing_here(const sealing_here&) = delete;
    sealing_here& operator=(const sealing_here&) = delete;
  };
  const sealing_here here(store, db);
  auto sealed = seal(*id);
  if (!sealed) {
    return sealed.error();
  }
  params.add(*id).add(std::span<const std::uint8_t>(*sealed));
  if (auto done = db.run(insert_sql, params); !done) {
    return done.error();
  }
  if (auto committed = tx.commit(); !committed) {
    return committed.error();
  }
  return *id;
}

}  // namespace

result<std::uint32_t> postgres_store::add_data_key(const sealer& wrap, std::int64_t now,
                                                   const meta_guard& guard) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  auto id = insert_sealed(this, **db, keys_lock,
                          "SELECT nextval(pg_get_serial_sequence('data_keys', 'id'))",
                          "INSERT INTO data_keys (created_at, id, wrapped) OVERRIDING SYSTEM VALUE "
                          "VALUES ($1::bigint, $2::bigint, $3::bytea)",
                          pg_params{}.add(now), wrap, guard);
  if (!id) {
    return id.error();
  }
  return static_cast<std::uint32_t>(*id);
}

result<data_key_record> postgres_store::newest_data_key() {
  constexpr const char* newest = "SELECT id, wrapped FROM data_keys ORDER BY id DESC LIMIT 1";
  if (auto* sealing = sealing_connection_of(this)) {
    return query_one<data_key_record>(*sealing, newest, {}, read_key);
  }
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_one<data_key_record>(**db, newest, {}, read_key);
}

result<data_key_record> postgres_store::data_key(std::uint32_t id) {
  constexpr const char* by_id = "SELECT id, wrapped FROM data_keys WHERE id = $1::bigint";
  if (auto* sealing = sealing_connection_of(this)) {
    return query_one<data_key_record>(*sealing, by_id, pg_params{}.add(std::int64_t{id}), read_key);
  }
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_one<data_key_record>(**db, by_id, pg_params{}.add(std::int64_t{id}), read_key);
}

result<std::vector<data_key_record>> postgres_store::list_data_keys() {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_all<data_key_record>(**db, "SELECT id, wrapped FROM data_keys ORDER BY id", {},
                                    read_key);
}

result<void> postgres_store::rewrap_data_keys(std::span<const data_key_record> rewrapped,
                                              std::string_view meta_name,
                                              std::span<const std::uint8_t> expected,
                                              std::span<const std::uint8_t> meta_value) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return retried(**db, [&]() -> result<void> {
    transaction tx(**db);
    if (auto begun = tx.begin(); !begun) {
      return begun;
    }
    // Under keys_lock: no other rotation can commit, and no key be added, between these checks
    // and the commit.
    if (auto locked = advisory_lock(**db, keys_lock); !locked) {
      return locked;
    }
    if (auto guarded = check_guard(**db, meta_guard{meta_name, expected}); !guarded) {
      return guarded;
    }
    auto count = query_one<std::int64_t>(
        **db, "SELECT count(*) FROM data_keys", {},
        [](const pg_rows& rows, std::size_t r) { return rows.column_int(r, 0); });
    if (!count) {
      return count.error();
    }
    if (static_cast<std::size_t>(*count) != rewrapped.size()) {
      return make_error_code(errc::conflict);
    }
    for (const auto& key : rewrapped) {
      auto changed = change_one(
          **db, "UPDATE data_keys SET wrapped = $2::bytea WHERE id = $1::bigint",
          pg_params{}.add(std::int64_t{key.id}).add(std::span<const std::uint8_t>(key.wrapped)));
      if (!changed) {
        return changed.error() == errc::not_found ? make_error_code(errc::conflict)
                                                  : changed.error();
      }
    }
    if (auto meta = (*db)->run("INSERT INTO club_meta (name, value) VALUES ($1::text, $2::bytea) "
                               "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                               pg_params{}.add(meta_name).add(meta_value));
        !meta) {
      return meta.error();
    }
    return tx.commit();
  });
}

result<void> postgres_store::remove_data_key(std::uint32_t id) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // Under the keys' lock, which a message being sealed holds shared: no body is sealed under
  // this key while it goes. The newest key is never removed: new values are sealed with it.
  transaction tx(**db);
  if (auto begun = tx.begin(); !begun) {
    return begun;
  }
  if (auto locked = advisory_lock(**db, keys_lock); !locked) {
    return locked;
  }
  auto removed = change_one(
      **db, "DELETE FROM data_keys WHERE id = $1::bigint AND id < (SELECT max(id) FROM data_keys)",
      pg_params{}.add(std::int64_t{id}));
  if (removed) {
    return tx.commit();
  }
  if (removed.error() != errc::not_found) {
    return removed;
  }
  // Gone, or kept because it is the newest: tell them apart.
  auto exists =
      query_one<data_key_record>(**db, "SELECT id, wrapped FROM data_keys WHERE id = $1::bigint",
                                 pg_params{}.add(std::int64_t{id}), read_key);
  if (exists) {
    return make_error_code(errc::conflict);
  }
  return exists.error();
}

result<message_id> postgres_store::add_message(std::string_view author, std::int64_t now,
                                               message_format format, const sealer& seal) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  auto id = insert_sealed(
      this, **db, messages_lock, "SELECT nextval(pg_get_serial_sequence('messages', 'id'))",
      "INSERT INTO messages (author, created_at, format, id, sealed) OVERRIDING SYSTEM VALUE "
      "VALUES ($1::text, $2::bigint, $3::text, $4::bigint, $5::bytea)",
      pg_params{}.add(author).add(now).add(to_string(format)), seal, {}, keys_lock);
  if (!id) {
    return id.error();
  }
  return message_id{*id};
}

result<message_record> postgres_store::newest_message() {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_one<message_record>(
      **db, "SELECT id, author, created_at, sealed, format FROM messages ORDER BY id DESC LIMIT 1",
      {}, read_message);
}

result<message_record> postgres_store::message(message_id id) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_one<message_record>(
      **db, "SELECT id, author, created_at, sealed, format FROM messages WHERE id = $1::bigint",
      pg_params{}.add(id.value), read_message);
}

result<std::vector<message_summary>> postgres_store::list_messages(std::optional<message_id> before,
                                                                   std::size_t limit) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // Keyset pagination on the primary key: every page is an index range scan, however deep.
  return query_all<message_summary>(
      **db,
      "SELECT id, author, created_at, format FROM messages WHERE id < $1::bigint "
      "ORDER BY id DESC LIMIT $2::bigint",
      pg_params{}.add(before ? before->value : INT64_MAX).add(static_cast<std::int64_t>(limit)),
      [](const pg_rows& rows, std::size_t r) {
        message_summary m{message_id{rows.column_int(r, 0)}, rows.column_text(r, 1),
                          rows.column_int(r, 2)};
        parse_message_format(rows.column_text(r, 3), m.format);
        return m;
      });
}

result<void> postgres_store::remove_message(message_id id) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // What PostgreSQL keeps of the removed body after this commit (dead row versions until VACUUM,
  // the WAL, archives, standbys): see the class comment.
  return change_one(**db, "DELETE FROM messages WHERE id = $1::bigint", pg_params{}.add(id.value));
}

result<std::vector<message_record>> postgres_store::sealed_messages(std::optional<message_id> after,
                                                                    std::size_t limit) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_all<message_record>(
      **db,
      "SELECT id, author, created_at, sealed, format FROM messages WHERE id > $1::bigint "
      "ORDER BY id LIMIT $2::bigint",
      pg_params{}.add(after ? after->value : INT64_MIN).add(static_cast<std::int64_t>(limit)),
      read_message);
}

result<std::size_t> postgres_store::reseal_messages(std::span<const resealed_message> batch) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return retried(**db, [&]() -> result<std::size_t> {
    transaction tx(**db);
    if (auto begun = tx.begin(); !begun) {
      return begun.error();
    }
    std::size_t replaced = 0;
    for (const auto& row : batch) {
      auto done = (*db)->run(
          "UPDATE messages SET sealed = $3::bytea WHERE id = $1::bigint AND sealed = $2::bytea",
          pg_params{}
              .add(row.id.value)
              .add(std::span<const std::uint8_t>(row.expected))
              .add(std::span<const std::uint8_t>(row.replacement)));
      if (!done) {
        return done.error();
      }
      replaced += done->changed();
    }
    if (auto committed = tx.commit(); !committed) {
      return committed.error();
    }
    return replaced;
  });
}

}  // namespace hush::store
