// postgres_store: data keys and messages.
#include <algorithm>
#include <functional>
#include <optional>
#include <string>

#include <climits>

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
// while a body is sealed under the newest one). `also`, when given, runs in the same transaction
// once the row is in (rows that name it).
result<std::int64_t> insert_sealed(
    const postgres_store* store, pg_connection& db, std::int64_t lock, const char* next_id_sql,
    const char* insert_sql, pg_params params, const sealer& seal, const meta_guard& guard = {},
    std::optional<std::int64_t> shared_lock = std::nullopt,
    const std::function<result<void>(std::int64_t)>& also = nullptr) {
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
  if (also) {
    if (auto done = also(*id); !done) {
      return done.error();
    }
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

namespace {

// Inserts the recipient rows of message `id`, inside add_message's transaction (after the
// message's own insert, so that the generation's lock comes before a member's, the order every
// change keeps). not_found for a member id no member has; the member's row is held FOR KEY
// SHARE until the commit, so that a removal waits for it and then zeroes the id out.
result<void> insert_recipients(pg_connection& db, std::int64_t id,
                               const std::vector<recipient>& to) {
  for (const auto& r : to) {
    const bool by_role = r.type == recipient::kind::role;
    if (!by_role) {
      auto exists = query_one<std::int64_t>(
          db, "SELECT id FROM members WHERE id = $1::bigint FOR KEY SHARE",
          pg_params{}.add(r.member.value),
          [](const pg_rows& rows, std::size_t row) { return rows.column_int(row, 0); });
      if (!exists) {
        return exists.error();
      }
    }
    if (auto done = db.run("INSERT INTO message_recipients (message_id, member_id, role) "
                           "VALUES ($1::bigint, $2::bigint, $3::text)",
                           pg_params{}
                               .add(id)
                               .add(by_role ? std::int64_t{0} : r.member.value)
                               .add(by_role ? to_string(r.member_role) : std::string_view()));
        !done) {
      return done.error();
    }
  }
  return {};
}

}  // namespace

result<message_id> postgres_store::add_message(std::string_view author, std::int64_t now,
                                               message_format format, const sealer& seal,
                                               const message_terms& terms) {
  if (const auto bad = check_terms(terms, now)) {
    return bad;
  }
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // The author's id is the member's who bears the name now, found in the same transaction.
  auto id = insert_sealed(
      this, **db, messages_lock, "SELECT nextval(pg_get_serial_sequence('messages', 'id'))",
      "INSERT INTO messages (author, created_at, format, expires_at, max_reads, author_id, id, "
      "sealed) OVERRIDING SYSTEM VALUE VALUES ($1::text, $2::bigint, $3::text, $4::bigint, "
      "$5::bigint, coalesce((SELECT id FROM members WHERE name = $1::text), 0), $6::bigint, "
      "$7::bytea)",
      pg_params{}
          .add(author)
          .add(now)
          .add(to_string(format))
          .add(terms.expires_at)
          .add(std::int64_t{terms.max_reads}),
      seal, {}, keys_lock,
      [&](std::int64_t row) { return insert_recipients(**db, row, terms.to); });
  if (!id) {
    return id.error();
  }
  return message_id{*id};
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
