// sqlite_store: messages, their terms (expiry, reads, recipients) and who may see them.
#include <algorithm>
#include <string>

#include <climits>

#include "core/error.hpp"
#include "core/log.hpp"
#include "store/sqlite/queries.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace hush::store {

using namespace sqlite_detail;  // NOLINT(google-build-using-namespace): our own helpers

namespace {

// Every message query reads these columns, in this order (read_row).
constexpr const char* message_columns =
    "SELECT m.id, m.author, m.created_at, m.sealed, m.format, m.expires_at, m.max_reads, m.reads, "
    "m.author_id FROM messages m WHERE ";

// What a reader may see, with ?1 the time, ?2 1 for the club's own tools (every message), ?3 the
// viewer's member id and ?4 their role. Expired is gone for everyone. Then the author (by id,
// never 0: a message whose author left is nobody's own), a message without recipients, or one
// naming the viewer's id or role. A recipient who left (member_id 0, no role) matches nobody.
constexpr const char* visible_clause =
    "(m.expires_at = 0 OR m.expires_at > ?1) AND (?2 OR (?3 > 0 AND m.author_id = ?3) OR "
    "NOT EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = m.id) OR "
    "EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = m.id AND "
    "((?3 > 0 AND r.member_id = ?3) OR r.role = ?4)))";

// The statements, made once: a connection caches statements by the text's address.
struct message_sql {
  std::string newest;  // the newest visible
  std::string by_id;   // ?5: the id
  std::string page;    // ?5: below this id, ?6: at most this many
};

const message_sql& statements() {
  static const message_sql sql = [] {
    const std::string select = std::string(message_columns) + visible_clause;
    return message_sql{select + " ORDER BY m.id DESC LIMIT 1", select + " AND m.id = ?5",
                       select + " AND m.id < ?5 ORDER BY m.id DESC LIMIT ?6"};
  }();
  return sql;
}

void bind_viewer(sqlite_statement& s, std::int64_t now, const viewer* who) {
  s.bind(1, now)
      .bind(2, std::int64_t{who == nullptr ? 1 : 0})
      .bind(3, who == nullptr ? std::int64_t{0} : who->id.value)
      .bind(4, who == nullptr ? std::string_view("") : to_string(who->member_role));
}

std::uint32_t to_count(std::int64_t value) {
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(value, 0, UINT32_MAX));
}

message_record read_row(const sqlite_statement& s) {
  message_record m;
  m.id = message_id{s.column_int(0)};
  m.author = s.column_text(1);
  m.created_at = s.column_int(2);
  m.sealed = s.column_blob(3);
  parse_message_format(s.column_text(4), m.format);
  m.terms.expires_at = s.column_int(5);
  m.terms.max_reads = to_count(s.column_int(6));
  m.reads = to_count(s.column_int(7));
  m.author_id = member_id{s.column_int(8)};
  return m;
}

// Fills in the recipients of `records` (sorted by id, either way), in the order they were given,
// members under their name now. One range query for the lot: a page's ids are close together.
template <class Record>
result<void> add_recipients(sqlite_connection& db, std::vector<Record>& records) {
  if (records.empty()) {
    return {};
  }
  const auto [low, high] = std::minmax(records.front().id.value, records.back().id.value);
  auto stmt = db.prepare(
      "SELECT r.message_id, r.member_id, r.role, coalesce(mb.name, '') FROM message_recipients r "
      "LEFT JOIN members mb ON r.member_id <> 0 AND mb.id = r.member_id "
      "WHERE r.message_id BETWEEN ?1 AND ?2 ORDER BY r.id");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, low).bind(2, high);
  for (;;) {
    auto row = stmt->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return {};
    }
    const message_id of{stmt->column_int(0)};
    const auto found = std::ranges::find(records, of, &Record::id);
    if (found == records.end()) {
      continue;  // a message between the page's that this reader does not get
    }
    recipient r;
    const auto role_name = stmt->column_text(2);
    if (!role_name.empty() && parse_role(role_name, r.member_role)) {
      r.type = recipient::kind::role;
    } else {
      r.member = member_id{stmt->column_int(1)};
      r.name = r.member.value == 0 ? std::string() : stmt->column_text(3);
    }
    found->terms.to.push_back(std::move(r));
  }
}

// Records of the statement `sql` (bound by `bind`), recipients included, inside the caller's
// transaction.
template <class Bind>
result<std::vector<message_record>> read_messages(sqlite_connection& db, const char* sql,
                                                  Bind&& bind) {
  auto rows = query_all<message_record>(db, sql, std::forward<Bind>(bind), read_row);
  if (!rows) {
    return rows.error();
  }
  if (auto added = add_recipients(db, *rows); !added) {
    return added.error();
  }
  return rows;
}

result<message_record> one_message(sqlite_connection& db, message_id id, std::int64_t now,
                                   const viewer* who) {
  auto rows = read_messages(db, statements().by_id.c_str(), [&](sqlite_statement& s) {
    bind_viewer(s, now, who);
    s.bind(5, id.value);
  });
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return make_error_code(errc::not_found);
  }
  return std::move(rows->front());
}

// True when `who` reading `m` counts towards its max_reads (the author's reads never do).
bool counted(const message_record& m, const viewer& who) {
  return m.terms.max_reads > 0 && !(who.id.value > 0 && m.author_id == who.id);
}

// Inserts the recipient rows of message `id`, inside add_message's transaction. not_found for a
// member id no member has: checked under the write lock, so that no removal comes between.
result<void> insert_recipients(sqlite_connection& db, std::int64_t id,
                               const std::vector<recipient>& to) {
  for (const auto& r : to) {
    if (r.type == recipient::kind::member) {
      auto exists = query_one<std::int64_t>(
          db, "SELECT id FROM members WHERE id = ?1",
          [&](sqlite_statement& s) { s.bind(1, r.member.value); },
          [](const sqlite_statement& s) { return s.column_int(0); });
      if (!exists) {
        return exists.error();
      }
    }
    auto stmt = db.prepare(
        "INSERT INTO message_recipients (message_id, member_id, role) VALUES (?1, ?2, ?3)");
    if (!stmt) {
      return stmt.error();
    }
    const bool by_role = r.type == recipient::kind::role;
    stmt->bind(1, id)
        .bind(2, by_role ? std::int64_t{0} : r.member.value)
        .bind(3, by_role ? to_string(r.member_role) : std::string_view(""));
    if (auto done = stmt->run(); !done) {
      return done;
    }
  }
  return {};
}

// The wipe after a removal, for a caller that reports success all the same (the last read of a
// message, which the reader gets): what stays is for the next checkpoint, as after not_wiped.
void wipe_or_warn(sqlite_connection& db) {
  if (auto wiped = db.wipe_log(); !wiped) {
    static log::rate_limited wipe_log(std::chrono::minutes(1));
    wipe_log.write(log::level::warn,
                   "a message burnt by its last read is removed, but its bytes stay in the "
                   "database's log until the next removal or checkpoint: " +
                       wiped.error().message());
  }
}

}  // namespace

result<message_record> sqlite_detail::newest_message_in(sqlite_connection& db, std::int64_t now,
                                                        const viewer* who) {
  auto rows = read_messages(db, statements().newest.c_str(),
                            [&](sqlite_statement& s) { bind_viewer(s, now, who); });
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return make_error_code(errc::not_found);
  }
  return std::move(rows->front());
}

result<message_id> sqlite_store::add_message(std::string_view author, std::int64_t now,
                                             message_format format, const sealer& seal,
                                             const message_terms& terms) {
  if (const auto bad = check_terms(terms, now)) {
    return bad;
  }
  auto db = acquire();
  // The author's id is the member's who bears the name now, found in the same transaction.
  auto id = insert_sealed(
      *db,
      "INSERT INTO messages (author, created_at, sealed, format, expires_at, max_reads, "
      "author_id) VALUES (?1, ?2, x'', ?3, ?4, ?5, "
      "coalesce((SELECT id FROM members WHERE name = ?1), 0))",
      "UPDATE messages SET sealed = ?1 WHERE id = ?2",
      [&](sqlite_statement& s) {
        s.bind(1, author)
            .bind(2, now)
            .bind(3, to_string(format))
            .bind(4, terms.expires_at)
            .bind(5, std::int64_t{terms.max_reads});
      },
      seal, {}, [&](std::int64_t row) { return insert_recipients(*db, row, terms.to); });
  if (!id) {
    return id.error();
  }
  return message_id{*id};
}

result<message_record> sqlite_store::newest_message(std::int64_t now) {
  auto db = acquire();
  read_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  return newest_message_in(*db, now, nullptr);
}

result<message_record> sqlite_store::newest_message(const viewer& who) {
  auto db = acquire();
  read_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  return newest_message_in(*db, who.now, &who);
}

result<message_record> sqlite_store::message(message_id id, std::int64_t now) {
  auto db = acquire();
  read_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  return one_message(*db, id, now, nullptr);
}

result<message_record> sqlite_store::message(message_id id, const viewer& who) {
  auto db = acquire();
  read_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  return one_message(*db, id, who.now, &who);
}

namespace {

result<std::vector<message_summary>> page_of(sqlite_connection& db,
                                             std::optional<message_id> before, std::size_t limit,
                                             std::int64_t now, const viewer* who) {
  read_transaction tx(db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  // Keyset pagination on the primary key, the visibility in the query: every page is an index
  // range scan, however deep, and holds `limit` messages this reader may see while there are.
  auto rows = read_messages(db, statements().page.c_str(), [&](sqlite_statement& s) {
    bind_viewer(s, now, who);
    s.bind(5, before ? before->value : INT64_MAX).bind(6, static_cast<std::int64_t>(limit));
  });
  if (!rows) {
    return rows.error();
  }
  return summaries_of(std::move(*rows));
}

}  // namespace

result<std::vector<message_summary>> sqlite_store::list_messages(std::optional<message_id> before,
                                                                 std::size_t limit,
                                                                 std::int64_t now) {
  auto db = acquire();
  return page_of(*db, before, limit, now, nullptr);
}

result<std::vector<message_summary>> sqlite_store::list_messages(std::optional<message_id> before,
                                                                 std::size_t limit,
                                                                 const viewer& who) {
  auto db = acquire();
  return page_of(*db, before, limit, who.now, &who);
}

result<message_record> sqlite_store::claim_read(message_id id, const viewer& who) {
  auto db = acquire();
  {
    // Most reads count nothing (no max_reads, or the author's): those need no write lock.
    read_transaction tx(*db);
    if (auto begun = tx.begin(); !begun) {
      return begun.error();
    }
    auto seen = one_message(*db, id, who.now, &who);
    if (!seen || !counted(*seen, who)) {
      return seen;
    }
  }
  bool burnt = false;
  result<message_record> claimed = make_error_code(errc::storage_failure);
  {
    // The visibility check, the count and the removal under one write lock: of any number of
    // readers racing, exactly max_reads find the message here with reads left.
    write_transaction tx(*db);
    if (auto begun = tx.begin(); !begun) {
      return begun.error();
    }
    claimed = one_message(*db, id, who.now, &who);
    if (!claimed) {
      return claimed;
    }
    if (claimed->reads >= claimed->terms.max_reads) {
      return make_error_code(errc::not_found);  // all read (a count changed by hand)
    }
    ++claimed->reads;
    burnt = claimed->reads >= claimed->terms.max_reads;
    const char* sql = burnt ? "DELETE FROM messages WHERE id = ?1"
                            : "UPDATE messages SET reads = reads + 1 WHERE id = ?1";
    if (auto changed = change_one(*db, sql, [&](sqlite_statement& s) { s.bind(1, id.value); });
        !changed) {
      return changed.error();
    }
    if (auto committed = tx.commit(); !committed) {
      return committed.error();
    }
  }
  if (burnt) {
    // As remove_message wipes: secure_delete zeroed the row (and its recipients, by the
    // cascade), the log still holds the pages as they were.
    wipe_or_warn(*db);
  }
  return claimed;
}

result<void> sqlite_store::remove_message(message_id id) {
  auto db = acquire();
  // The recipient rows go with it (ON DELETE CASCADE).
  if (auto removed = change_one(*db, "DELETE FROM messages WHERE id = ?1",
                                [&](sqlite_statement& s) { s.bind(1, id.value); });
      !removed) {
    return removed;
  }
  // secure_delete zeroed the row in the pages the deletion wrote, but the log still holds the
  // pages as they were, sealed body included: copy the log into the database and empty it.
  return db->wipe_log();
}

result<std::size_t> sqlite_store::remove_expired(std::int64_t now, std::size_t limit) {
  auto db = acquire();
  auto stmt = db->prepare(
      "DELETE FROM messages WHERE id IN (SELECT id FROM messages "
      "WHERE expires_at <> 0 AND expires_at <= ?1 ORDER BY id LIMIT ?2)");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  if (auto done = stmt->run(); !done) {
    return done.error();
  }
  const auto removed = static_cast<std::size_t>(db->changes());
  if (removed > 0) {
    // As remove_message: the log still holds the removed rows' pages.
    if (auto wiped = db->wipe_log(); !wiped) {
      return wiped.error();
    }
  }
  return removed;
}

result<std::vector<message_record>> sqlite_store::sealed_messages(std::optional<message_id> after,
                                                                  std::size_t limit) {
  auto db = acquire();
  read_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  return read_messages(
      *db,
      "SELECT m.id, m.author, m.created_at, m.sealed, m.format, m.expires_at, m.max_reads, "
      "m.reads, m.author_id FROM messages m WHERE m.id > ?1 ORDER BY m.id LIMIT ?2",
      [&](sqlite_statement& s) {
        s.bind(1, after ? after->value : INT64_MIN).bind(2, static_cast<std::int64_t>(limit));
      });
}

result<std::size_t> sqlite_store::reseal_messages(std::span<const resealed_message> batch) {
  auto db = acquire();
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  std::size_t replaced = 0;
  for (const auto& row : batch) {
    auto stmt = db->prepare("UPDATE messages SET sealed = ?3 WHERE id = ?1 AND sealed = ?2");
    if (!stmt) {
      return stmt.error();
    }
    stmt->bind(1, row.id.value)
        .bind(2, std::span<const std::uint8_t>(row.expected))
        .bind(3, std::span<const std::uint8_t>(row.replacement));
    if (auto done = stmt->run(); !done) {
      return done.error();
    }
    replaced += static_cast<std::size_t>(db->changes());
  }
  if (auto committed = tx.commit(); !committed) {
    return committed.error();
  }
  return replaced;
}

}  // namespace hush::store
