#include "store/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/queries.hpp"

namespace hush::store {

using namespace sqlite_detail;  // NOLINT(google-build-using-namespace): our own helpers

namespace {

// The reason to give when opening fails: the disk's state when that is the cause, else `fallback`.
std::string reason(std::error_code ec, const char* fallback) {
  if (ec == errc::disk_full || ec == errc::read_only) {
    return ec.message();
  }
  return fallback;
}

result<std::size_t> schema_version(sqlite_connection& db) {
  auto version = db.prepare("PRAGMA user_version");
  if (!version) {
    return version.error();
  }
  auto row = version->step();
  if (!row) {
    return row.error();
  }
  if (!*row) {
    return make_error_code(errc::storage_failure);
  }
  return static_cast<std::size_t>(version->column_int(0));
}

}  // namespace

sqlite_store::sqlite_store(std::filesystem::path path) : path_(std::move(path)) {
  if (!std::filesystem::exists(path_)) {
    throw std::runtime_error(path_.string() + ": no database (run hush init first)");
  }
  auto db = acquire();
  const auto latest = sqlite_migrations::steps.size();
  auto current = schema_version(*db);
  if (!current) {
    throw std::runtime_error(path_.string() + ": " +
                             reason(current.error(), "not a hush database"));
  }
  if (*current > latest) {
    throw std::runtime_error(path_.string() +
                             ": database schema is newer than this hush; upgrade hush");
  }
  // Only a migration writes: opening an up-to-date club never does, so that reading works on a
  // read-only file system or a full disk.
  if (*current < latest) {
    migrate(*db);
  }
  // Member ids are SQLite row ids, which a new member may be given again once the highest one
  // left; this trigger zeroes a departed member's id out of messages and their recipients. A
  // database without it (dropped by hand, a restore gone wrong) would hand a departed member's
  // messages to whoever inherits the id, so it is not served at all.
  auto trigger = query_one<std::int64_t>(
      *db,
      "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
      "AND name = 'members_left_messages' AND tbl_name = 'members'",
      [](sqlite_statement&) {}, [](const sqlite_statement& s) { return s.column_int(0); });
  if (!trigger) {
    throw std::runtime_error(path_.string() + ": " +
                             reason(trigger.error(), "cannot read the database schema"));
  }
  if (*trigger != 1) {
    throw std::runtime_error(path_.string() +
                             ": the trigger members_left_messages is missing (dropped by hand?), "
                             "so a departed member's id could pass to a new member; restore the "
                             "database from a backup");
  }
}

void sqlite_store::migrate(sqlite_connection& db) {
  const auto latest = sqlite_migrations::steps.size();
  write_transaction tx(db);
  if (auto begun = tx.begin(); !begun) {
    throw std::runtime_error(path_.string() + ": " + reason(begun.error(), "database is locked"));
  }
  // Another process may have migrated between the caller's read and the lock.
  auto current = schema_version(db);
  if (!current) {
    throw std::runtime_error(path_.string() + ": " +
                             reason(current.error(), "not a hush database"));
  }
  for (std::size_t step = *current; step < latest; ++step) {
    if (auto migrated = db.exec(sqlite_migrations::steps[step]); !migrated) {
      const std::string fallback = "schema migration " + std::to_string(step + 1) + " failed";
      throw std::runtime_error(path_.string() + ": " + reason(migrated.error(), fallback.c_str()));
    }
  }
  const std::string set_version = "PRAGMA user_version=" + std::to_string(latest);
  auto recorded = db.exec(set_version.c_str());
  if (recorded) {
    recorded = tx.commit();
  }
  if (!recorded) {
    throw std::runtime_error(path_.string() + ": " +
                             reason(recorded.error(), "cannot record the schema version"));
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
  // Under the write lock: no other removal can change the count of admins between this check
  // and the delete.
  // 1 for the club's only admin (result<bool> would not tell a value from an error).
  auto last_admin = query_one<std::int64_t>(
      *db,
      "SELECT role = 'admin' AND (SELECT count(*) FROM members WHERE role = 'admin') = 1 "
      "FROM members WHERE name = ?1",
      [&](sqlite_statement& s) { s.bind(1, name); },
      [](sqlite_statement& s) { return s.column_int(0); });
  if (!last_admin) {
    return last_admin.error();
  }
  if (*last_admin != 0) {
    return make_error_code(errc::conflict);
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

result<role> sqlite_store::set_member_role(std::string_view name, role new_role) {
  auto db = acquire();
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  // Read under the write lock, as remove_member does: no other change can alter the count of
  // admins between this check and the update.
  struct current_role {
    std::string role_name;
    std::int64_t admins = 0;
  };
  auto current = query_one<current_role>(
      *db,
      "SELECT role, (SELECT count(*) FROM members WHERE role = 'admin') FROM members "
      "WHERE name = ?1",
      [&](sqlite_statement& s) { s.bind(1, name); },
      [](sqlite_statement& s) {
        return current_role{s.column_text(0), s.column_int(1)};
      });
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
  if (auto changed =
          change_one(*db, "UPDATE members SET role = ?2 WHERE name = ?1",
                     [&](sqlite_statement& s) { s.bind(1, name).bind(2, to_string(new_role)); });
      !changed) {
    return changed.error();
  }
  if (auto committed = tx.commit(); !committed) {
    return committed.error();
  }
  return old_role;
}

result<void> sqlite_store::replace_password_hash(std::string_view name, std::string_view expected,
                                                 std::string_view replacement) {
  auto db = acquire();
  return change_one(
      *db, "UPDATE members SET password_hash = ?3 WHERE name = ?1 AND password_hash = ?2",
      [&](sqlite_statement& s) { s.bind(1, name).bind(2, expected).bind(3, replacement); });
}

result<void> sqlite_store::set_password_hash(std::string_view name, std::string_view hash,
                                             std::optional<std::string_view> expected) {
  auto db = acquire();
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  // Under the write lock: nothing can change the hash between this read and the update.
  if (expected) {
    auto stored = query_one<std::string>(
        *db, "SELECT password_hash FROM members WHERE name = ?1",
        [&](sqlite_statement& s) { s.bind(1, name); },
        [](const sqlite_statement& s) { return s.column_text(0); });
    if (!stored) {
      return stored.error();
    }
    if (*stored != *expected) {
      return make_error_code(errc::conflict);
    }
  }
  if (auto changed = change_one(*db, "UPDATE members SET password_hash = ?2 WHERE name = ?1",
                                [&](sqlite_statement& s) { s.bind(1, name).bind(2, hash); });
      !changed) {
    return changed;
  }
  // Whoever logged in with the old password is logged out with it, the session the change was
  // made in too: a stolen cookie must not outlive the change (the changer gets a new session).
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

result<std::uint32_t> sqlite_store::add_data_key(const sealer& wrap, std::int64_t now,
                                                 const meta_guard& guard) {
  auto db = acquire();
  auto id = insert_sealed(
      *db, "INSERT INTO data_keys (wrapped, created_at) VALUES (x'', ?1)",
      "UPDATE data_keys SET wrapped = ?1 WHERE id = ?2",
      [&](sqlite_statement& s) { s.bind(1, now); }, wrap, guard);
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

result<std::vector<data_key_record>> sqlite_store::list_data_keys() {
  auto db = acquire();
  return query_all<data_key_record>(
      *db, "SELECT id, wrapped FROM data_keys ORDER BY id", [](sqlite_statement&) {},
      [](const sqlite_statement& s) {
        return data_key_record{static_cast<std::uint32_t>(s.column_int(0)), s.column_blob(1)};
      });
}

result<void> sqlite_store::rewrap_data_keys(std::span<const data_key_record> rewrapped,
                                            std::string_view meta_name,
                                            std::span<const std::uint8_t> expected,
                                            std::span<const std::uint8_t> meta_value) {
  auto db = acquire();
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  // Under the write lock: the keys were unwrapped with the master key whose check this is, and
  // no other rotation can commit between this check and ours.
  if (auto guarded = check_guard(*db, meta_guard{meta_name, expected}); !guarded) {
    return guarded;
  }
  // Under the write lock: no key can be added between this count and the commit.
  auto count = query_one<std::int64_t>(
      *db, "SELECT count(*) FROM data_keys", [](sqlite_statement&) {},
      [](const sqlite_statement& s) { return s.column_int(0); });
  if (!count) {
    return count.error();
  }
  if (static_cast<std::size_t>(*count) != rewrapped.size()) {
    return make_error_code(errc::conflict);
  }
  for (const auto& key : rewrapped) {
    auto changed = change_one(
        *db, "UPDATE data_keys SET wrapped = ?2 WHERE id = ?1", [&](sqlite_statement& s) {
          s.bind(1, std::int64_t{key.id}).bind(2, std::span<const std::uint8_t>(key.wrapped));
        });
    if (!changed) {
      return changed.error() == errc::not_found ? make_error_code(errc::conflict) : changed.error();
    }
  }
  auto meta = db->prepare("INSERT OR REPLACE INTO club_meta (name, value) VALUES (?1, ?2)");
  if (!meta) {
    return meta.error();
  }
  meta->bind(1, meta_name).bind(2, meta_value);
  if (auto done = meta->run(); !done) {
    return done;
  }
  if (auto committed = tx.commit(); !committed) {
    return committed;
  }
  // The old wrapped keys are in the log's frames until a checkpoint: wipe them as a removal does.
  // A reader that outlasts the wait leaves them for the next checkpoint, which is no worse than
  // the rotation's promise (the old master key is what is gone).
  [[maybe_unused]] auto wiped = db->wipe_log();
  return {};
}

result<void> sqlite_store::remove_data_key(std::uint32_t id) {
  auto db = acquire();
  // The newest key is never removed: it is the one new values are sealed with.
  auto removed = change_one(
      *db, "DELETE FROM data_keys WHERE id = ?1 AND id < (SELECT max(id) FROM data_keys)",
      [&](sqlite_statement& s) { s.bind(1, std::int64_t{id}); });
  if (removed || removed.error() != errc::not_found) {
    return removed;
  }
  // Gone, or kept because it is the newest: tell them apart.
  auto exists = data_key(id);
  if (exists) {
    return make_error_code(errc::conflict);
  }
  return exists.error();
}

namespace {

// One audit row, inside the caller's transaction (add_audits, add_audits_as_of).
result<void> insert_audit(sqlite_connection& db, const audit_record& record) {
  auto stmt =
      db.prepare("INSERT INTO audit (at, member, message_id, remote) VALUES (?1, ?2, ?3, ?4)");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, record.at)
      .bind(2, record.member)
      .bind(3, record.message.value)
      .bind(4, record.remote);
  return stmt->run();
}

}  // namespace

result<std::vector<std::uint8_t>> sqlite_store::club_meta(std::string_view name) {
  auto db = acquire();
  return query_one<std::vector<std::uint8_t>>(
      *db, "SELECT value FROM club_meta WHERE name = ?1",
      [&](sqlite_statement& s) { s.bind(1, name); },
      [](const sqlite_statement& s) { return s.column_blob(0); });
}

result<void> sqlite_store::set_club_meta_once(std::string_view name,
                                              std::span<const std::uint8_t> value) {
  auto db = acquire();
  auto stmt = db->prepare("INSERT OR IGNORE INTO club_meta (name, value) VALUES (?1, ?2)");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, name).bind(2, value);
  return stmt->run();
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
    if (auto inserted = insert_audit(*db, record); !inserted) {
      return inserted.error();
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

result<std::vector<audit_record>> sqlite_store::reads_of(message_id id, std::size_t limit) {
  auto db = acquire();
  // The index audit_message (message_id, then the rowid: the order added).
  return query_all<audit_record>(
      *db,
      "SELECT at, member, message_id, remote FROM audit WHERE message_id = ?1 ORDER BY id "
      "LIMIT ?2",
      [&](sqlite_statement& s) { s.bind(1, id.value).bind(2, static_cast<std::int64_t>(limit)); },
      [](const sqlite_statement& s) {
        return audit_record{s.column_int(0), s.column_text(1), message_id{s.column_int(2)},
                            s.column_text(3)};
      });
}

result<std::size_t> sqlite_store::prune_audit(std::int64_t before, std::size_t limit) {
  auto db = acquire();
  auto stmt = db->prepare(
      "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ?1 ORDER BY at LIMIT ?2)");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, before).bind(2, static_cast<std::int64_t>(limit));
  if (auto done = stmt->run(); !done) {
    return done.error();
  }
  return static_cast<std::size_t>(db->changes());
}

namespace {

result<std::uint64_t> read_generation(sqlite_connection& db) {
  auto generation = query_one<std::int64_t>(
      db, "SELECT value FROM change_generation WHERE id = 1", [](sqlite_statement&) {},
      [](const sqlite_statement& s) { return s.column_int(0); });
  if (!generation) {
    return generation.error();
  }
  return static_cast<std::uint64_t>(*generation);
}

}  // namespace

result<read_snapshot> sqlite_store::snapshot(std::int64_t now) {
  auto db = acquire();
  read_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  // Exactness rests on the triggers that move the generation: a database where one was dropped
  // gives no view at all, and every read is served from the store.
  // members, tokens, messages, message_recipients, client_certs x 3
  constexpr std::int64_t change_triggers = 15;
  auto triggers = query_one<std::int64_t>(
      *db,
      "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ("
      "'members_changed_insert', 'members_changed_update', 'members_changed_delete', "
      "'tokens_changed_insert', 'tokens_changed_update', 'tokens_changed_delete', "
      "'messages_changed_insert', 'messages_changed_update', 'messages_changed_delete', "
      "'message_recipients_changed_insert', 'message_recipients_changed_update', "
      "'message_recipients_changed_delete', "
      "'client_certs_changed_insert', 'client_certs_changed_update', "
      "'client_certs_changed_delete')",
      [](sqlite_statement&) {}, [](const sqlite_statement& s) { return s.column_int(0); });
  if (!triggers) {
    return triggers.error();
  }
  if (*triggers != change_triggers) {
    static log::rate_limited missing_log(std::chrono::minutes(1));
    missing_log.write(log::level::warn,
                      "the database lacks a change_generation trigger (dropped by hand?): every "
                      "read is served from the database, none from memory");
    return make_error_code(errc::storage_failure);
  }
  read_snapshot view;
  auto generation = read_generation(*db);
  if (!generation) {
    return generation.error();
  }
  view.generation = *generation;
  auto tokens = query_all<token_entry>(
      *db,
      "SELECT t.hash, t.expires_at, m.id, m.name, m.role, m.password_hash, m.created_at "
      "FROM tokens t JOIN members m ON m.name = t.member",
      [](sqlite_statement&) {},
      [](const sqlite_statement& s) {
        token_entry entry;
        entry.hash = s.column_blob(0);
        entry.expires_at = s.column_int(1);
        entry.member.id = member_id{s.column_int(2)};
        entry.member.name = s.column_text(3);
        parse_role(s.column_text(4), entry.member.member_role);
        entry.member.password_hash = s.column_text(5);
        entry.member.created_at = s.column_int(6);
        return entry;
      });
  if (!tokens) {
    return tokens.error();
  }
  view.tokens = std::move(*tokens);
  auto members = query_all<member_record>(
      *db, "SELECT id, name, role, password_hash, created_at FROM members",
      [](sqlite_statement&) {}, read_member);
  if (!members) {
    return members.error();
  }
  view.members = std::move(*members);
  auto newest = newest_message_in(*db, now, nullptr);
  if (newest) {
    view.newest = std::move(*newest);
  } else if (newest.error() != errc::not_found) {
    return newest.error();
  }
  return view;
}

result<std::uint64_t> sqlite_store::generation() {
  auto db = acquire();
  return read_generation(*db);
}

result<std::uint64_t> sqlite_store::add_audits_as_of(std::span<const audited_read> reads,
                                                     std::vector<bool>& added) {
  added.assign(reads.size(), false);
  std::vector<bool> inserted(reads.size(), false);
  auto db = acquire();
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  // Read under the write lock: no change can commit between this read and the audit's commit.
  auto generation = read_generation(*db);
  if (!generation) {
    return generation.error();
  }
  for (std::size_t i = 0; i < reads.size(); ++i) {
    const auto& read = reads[i];
    if (read.as_of != 0 && read.as_of != *generation) {
      continue;
    }
    if (auto written = insert_audit(*db, read.record); !written) {
      return written.error();
    }
    inserted[i] = true;
  }
  if (auto committed = tx.commit(); !committed) {
    return committed.error();
  }
  added = std::move(inserted);
  return *generation;
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

void sqlite_store::copy_to(const std::filesystem::path& target) {
  // Made empty and private first: VACUUM INTO would create it with the umask's permissions.
  const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error(target.string() + ": cannot create (it must not exist yet)");
  }
  ::close(fd);
  const auto fail = [&](const std::string& why) {
    std::error_code ignored;
    std::filesystem::remove(target, ignored);
    return std::runtime_error(target.string() + ": " + why);
  };
  {
    auto db = acquire();
    auto stmt = db->prepare("VACUUM INTO ?1");
    if (!stmt) {
      throw fail("cannot copy the database: " + stmt.error().message());
    }
    stmt->bind(1, std::string_view(target.string()));
    if (auto done = stmt->run(); !done) {
      throw fail("cannot copy the database: " + done.error().message());
    }
  }
  // Durable before it is reported: the copy's bytes, then its name in the directory.
  for (const auto& path :
       {target, target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path()}) {
    const int sync_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (sync_fd < 0 || ::fsync(sync_fd) != 0) {
      if (sync_fd >= 0) {
        ::close(sync_fd);
      }
      throw fail("cannot sync the copy to disk");
    }
    ::close(sync_fd);
  }
}

}  // namespace hush::store
