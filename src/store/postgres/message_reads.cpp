// postgres_store: reading messages with their terms (expiry, reads, recipients), who may see
// them, the counted read, and the removal of expired ones. messages.cpp adds and reseals them.
#include <algorithm>
#include <optional>
#include <string>

#include <climits>

#include "core/error.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/postgres/queries.hpp"

namespace hush::store {

using namespace postgres_detail;  // NOLINT(google-build-using-namespace): our own helpers

namespace {

// The columns every message query reads, in this order (read_row); the last one is the
// message's recipients in one text, so that a record is read whole by one statement: for each
// row in the order given, "member_id:role:name in hex", joined by commas (hex, so that no name
// can forge a separator).
constexpr const char* message_fields =
    "m.id, m.author, m.created_at, m.sealed, m.format, m.expires_at, m.max_reads, m.reads, "
    "m.author_id, (SELECT string_agg(r.member_id::text || ':' || r.role || ':' || "
    "encode(convert_to(coalesce(mb.name, ''), 'UTF8'), 'hex'), ',' ORDER BY r.id) "
    "FROM message_recipients r LEFT JOIN members mb ON r.member_id <> 0 AND mb.id = r.member_id "
    "WHERE r.message_id = m.id)";

// What a reader may see, with $1 the time, $2 1 for the club's own tools (every message), $3 the
// viewer's member id and $4 their role. Expired is gone for everyone. Then the author (by id,
// never 0: a message whose author left is nobody's own), a message without recipients, or one
// naming the viewer's id or role. A recipient who left (member_id 0, no role) matches nobody.
constexpr const char* visible_clause =
    "(m.expires_at = 0 OR m.expires_at > $1::bigint) AND ($2::bigint = 1 OR "
    "($3::bigint > 0 AND m.author_id = $3::bigint) OR "
    "NOT EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = m.id) OR "
    "EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = m.id AND "
    "(($3::bigint > 0 AND r.member_id = $3::bigint) OR r.role = $4::text)))";

// The statements, made once: a connection prepares statements by the text's address.
struct message_sql {
  std::string newest;  // the newest visible
  std::string by_id;   // $5: the id
  std::string page;    // $5: below this id, $6: at most this many
  std::string claim;   // $5: the id; one read counted, if it may be
  std::string sealed;  // $1: above this id, $2: at most this many (every message, oldest first)
};

const message_sql& statements() {
  static const message_sql sql = [] {
    const std::string select =
        std::string("SELECT ") + message_fields + " FROM messages m WHERE " + visible_clause;
    message_sql out;
    out.newest = select + " ORDER BY m.id DESC LIMIT 1";
    out.by_id = select + " AND m.id = $5::bigint";
    out.page = select + " AND m.id < $5::bigint ORDER BY m.id DESC LIMIT $6::bigint";
    // Under the row's lock, the visibility and the count are checked again on the row as the
    // last claim left it: of any number racing, exactly max_reads - reads find one left.
    out.claim =
        std::string("UPDATE messages m SET reads = m.reads + 1 WHERE m.id = $5::bigint AND ") +
        visible_clause +
        " AND m.max_reads > 0 AND m.reads < m.max_reads AND "
        "NOT ($3::bigint > 0 AND m.author_id = $3::bigint) RETURNING " +
        message_fields;
    out.sealed = std::string("SELECT ") + message_fields +
                 " FROM messages m WHERE m.id > $1::bigint ORDER BY m.id LIMIT $2::bigint";
    return out;
  }();
  return sql;
}

pg_params viewer_params(std::int64_t now, const viewer* who) {
  pg_params params;
  params.add(now)
      .add(std::int64_t{who == nullptr ? 1 : 0})
      .add(who == nullptr ? std::int64_t{0} : who->id.value)
      .add(who == nullptr ? std::string_view() : to_string(who->member_role));
  return params;
}

std::uint32_t to_count(std::int64_t value) {
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(value, 0, UINT32_MAX));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

// The recipients column (message_fields) back into recipients.
std::vector<recipient> parse_recipients(std::string_view text) {
  std::vector<recipient> out;
  while (!text.empty()) {
    const auto end = std::min(text.find(','), text.size());
    const auto item = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const auto first = item.find(':');
    const auto second = item.find(':', first == std::string_view::npos ? 0 : first + 1);
    if (first == std::string_view::npos || second == std::string_view::npos) {
      continue;
    }
    recipient r;
    const auto role_name = item.substr(first + 1, second - first - 1);
    if (!role_name.empty() && parse_role(role_name, r.member_role)) {
      r.type = recipient::kind::role;
      out.push_back(std::move(r));
      continue;
    }
    std::int64_t id = 0;
    for (const char c : item.substr(0, first)) {
      id = id * 10 + (c - '0');
    }
    r.member = member_id{id};
    const auto hex = item.substr(second + 1);
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
      r.name.push_back(static_cast<char>(hex_digit(hex[i]) * 16 + hex_digit(hex[i + 1])));
    }
    out.push_back(std::move(r));
  }
  return out;
}

message_record read_row(const pg_rows& rows, std::size_t r) {
  message_record m;
  m.id = message_id{rows.column_int(r, 0)};
  m.author = rows.column_text(r, 1);
  m.created_at = rows.column_int(r, 2);
  m.sealed = rows.column_blob(r, 3);
  parse_message_format(rows.column_text(r, 4), m.format);
  m.terms.expires_at = rows.column_int(r, 5);
  m.terms.max_reads = to_count(rows.column_int(r, 6));
  m.reads = to_count(rows.column_int(r, 7));
  m.author_id = member_id{rows.column_int(r, 8)};
  m.terms.to = parse_recipients(rows.column_text(r, 9));
  return m;
}

result<message_record> one_message(pg_connection& db, message_id id, std::int64_t now,
                                   const viewer* who) {
  return query_one<message_record>(db, statements().by_id.c_str(),
                                   viewer_params(now, who).add(id.value), read_row);
}

result<std::vector<message_summary>> page_of(pg_connection& db, std::optional<message_id> before,
                                             std::size_t limit, std::int64_t now,
                                             const viewer* who) {
  // Keyset pagination on the primary key, the visibility in the query: every page is an index
  // range scan, however deep, and holds `limit` messages this reader may see while there are.
  auto rows = query_all<message_record>(db, statements().page.c_str(),
                                        viewer_params(now, who)
                                            .add(before ? before->value : INT64_MAX)
                                            .add(static_cast<std::int64_t>(limit)),
                                        read_row);
  if (!rows) {
    return rows.error();
  }
  return summaries_of(std::move(*rows));
}

}  // namespace

result<message_record> postgres_detail::newest_message_in(pg_connection& db, std::int64_t now,
                                                          const viewer* who) {
  return query_one<message_record>(db, statements().newest.c_str(), viewer_params(now, who),
                                   read_row);
}

result<message_record> postgres_store::newest_message(std::int64_t now) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return newest_message_in(**db, now, nullptr);
}

result<message_record> postgres_store::newest_message(const viewer& who) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return newest_message_in(**db, who.now, &who);
}

result<message_record> postgres_store::message(message_id id, std::int64_t now) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return one_message(**db, id, now, nullptr);
}

result<message_record> postgres_store::message(message_id id, const viewer& who) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return one_message(**db, id, who.now, &who);
}

result<std::vector<message_summary>> postgres_store::list_messages(std::optional<message_id> before,
                                                                   std::size_t limit,
                                                                   std::int64_t now) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return page_of(**db, before, limit, now, nullptr);
}

result<std::vector<message_summary>> postgres_store::list_messages(std::optional<message_id> before,
                                                                   std::size_t limit,
                                                                   const viewer& who) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return page_of(**db, before, limit, who.now, &who);
}

result<message_record> postgres_store::claim_read(message_id id, const viewer& who) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // Most reads count nothing (no max_reads, or the author's): one plain SELECT, no lock.
  auto seen = one_message(**db, id, who.now, &who);
  if (!seen || seen->terms.max_reads == 0 || (who.id.value > 0 && seen->author_id == who.id)) {
    return seen;
  }
  return retried(**db, [&]() -> result<message_record> {
    transaction tx(**db);
    if (auto begun = tx.begin(); !begun) {
      return begun.error();
    }
    // The UPDATE's statement trigger takes the generation's lock before the row's, the order
    // every change keeps; the DELETE after it in the same transaction holds both already.
    auto claimed = query_one<message_record>(**db, statements().claim.c_str(),
                                             viewer_params(who.now, &who).add(id.value), read_row);
    if (!claimed) {
      return claimed;  // not_found: gone, no longer visible, or every read claimed meanwhile
    }
    if (claimed->reads >= claimed->terms.max_reads) {
      // The last read: the message goes in the same commit (what PostgreSQL keeps of it after,
      // as remove_message: see the class comment).
      if (auto removed = change_one(**db, "DELETE FROM messages WHERE id = $1::bigint",
                                    pg_params{}.add(id.value));
          !removed) {
        return removed.error();
      }
    }
    if (auto committed = tx.commit(); !committed) {
      return committed.error();
    }
    return claimed;
  });
}

result<void> postgres_store::remove_message(message_id id) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // What PostgreSQL keeps of the removed body after this commit (dead row versions until VACUUM,
  // the WAL, archives, standbys): see the class comment. The recipient rows go with it (ON
  // DELETE CASCADE).
  return change_one(**db, "DELETE FROM messages WHERE id = $1::bigint", pg_params{}.add(id.value));
}

result<std::size_t> postgres_store::remove_expired(std::int64_t now, std::size_t limit) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // What PostgreSQL keeps of the removed bodies: as remove_message.
  return retried(**db, [&]() -> result<std::size_t> {
    auto done = (*db)->run(
        "DELETE FROM messages WHERE id IN (SELECT id FROM messages "
        "WHERE expires_at <> 0 AND expires_at <= $1::bigint ORDER BY id LIMIT $2::bigint)",
        pg_params{}.add(now).add(static_cast<std::int64_t>(limit)));
    if (!done) {
      return done.error();
    }
    return done->changed();
  });
}

result<std::vector<message_record>> postgres_store::sealed_messages(std::optional<message_id> after,
                                                                    std::size_t limit) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_all<message_record>(
      **db, statements().sealed.c_str(),
      pg_params{}.add(after ? after->value : INT64_MIN).add(static_cast<std::int64_t>(limit)),
      read_row);
}

}  // namespace hush::store
