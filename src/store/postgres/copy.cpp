// postgres_store: a whole club copied out (one repeatable-read snapshot) and in (one
// transaction).
#include <limits>

#include "core/error.hpp"
#include "store/club_copy.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/postgres/queries.hpp"

namespace hush::store {

using namespace postgres_detail;  // NOLINT(google-build-using-namespace): our own helpers

namespace {

// Rows read per statement when a table is read by id.
constexpr int copy_batch = 1000;

// Each table's statements, made once: a connection prepares statements by the text's address.
struct copy_sql {
  std::string select_after;  // by_id: the next batch after $1
  std::string select_all;    // otherwise: every row
  std::string insert;        // ids as given (OVERRIDING SYSTEM VALUE)
  std::string raise_ids;     // by_id: the identity's next value above every id and above $1
};

const char* cast_of(column_kind kind) {
  switch (kind) {
    case column_kind::integer:
      return "::bigint";
    case column_kind::text:
      return "::text";
    case column_kind::bytes:
      return "::bytea";
  }
  return "";
}

const std::vector<copy_sql>& statements() {
  static const std::vector<copy_sql> sql = [] {
    std::vector<copy_sql> out;
    for (const auto& table : copy_tables()) {
      std::string columns;
      std::string values;
      for (std::size_t i = 0; i < table.columns.size(); ++i) {
        columns += i == 0 ? "" : ", ";
        columns += table.columns[i].name;
        values += i == 0 ? "$" : ", $";
        values += std::to_string(i + 1);
        values += cast_of(table.columns[i].kind);
      }
      const std::string name = table.name;
      copy_sql s;
      const std::string select = "SELECT " + columns + " FROM " + name;
      s.select_after =
          select + " WHERE id > $1::bigint ORDER BY id LIMIT " + std::to_string(copy_batch);
      s.select_all = select + " ORDER BY " + table.columns.front().name;
      s.insert = "INSERT INTO " + name + " (" + columns + ")" +
                 (table.by_id ? " OVERRIDING SYSTEM VALUE" : "") + " VALUES (" + values + ")";
      // Never lower than the identity's own last value either (a target whose rows were
      // deleted before).
      const std::string sequence = "pg_get_serial_sequence('" + name + "', 'id')::regclass";
      s.raise_ids = "SELECT setval(" + sequence + ", greatest(mark, 1), mark > 0) FROM (SELECT " +
                    "greatest(coalesce(max(id), 0), $1::bigint, coalesce(pg_sequence_last_value(" +
                    sequence + "), 0)) AS mark FROM " + name + ") AS marks";
      out.push_back(std::move(s));
    }
    return out;
  }();
  return sql;
}

std::vector<copy_row> read_rows(const copy_table& table, const pg_rows& rows) {
  std::vector<copy_row> out;
  out.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    copy_row row;
    row.reserve(table.columns.size());
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
      const int column = static_cast<int>(i);
      switch (table.columns[i].kind) {
        case column_kind::integer:
          row.emplace_back(rows.column_int(r, column));
          break;
        case column_kind::text:
          row.emplace_back(rows.column_text(r, column));
          break;
        case column_kind::bytes:
          row.emplace_back(rows.column_blob(r, column));
          break;
      }
    }
    out.push_back(std::move(row));
  }
  return out;
}

result<std::int64_t> one_int(pg_connection& db, const char* sql, const pg_params& params = {}) {
  return query_one<std::int64_t>(
      db, sql, params, [](const pg_rows& rows, std::size_t r) { return rows.column_int(r, 0); });
}

class pg_inserter final : public copy_sink {
 public:
  explicit pg_inserter(pg_connection& db) : db_(db) {}

  result<void> rows(const copy_table& table, std::span<const copy_row> rows) override {
    const auto& tables = copy_tables();
    const auto index = static_cast<std::size_t>(&table - tables.data());
    if (index >= tables.size()) {
      return make_error_code(errc::storage_failure);
    }
    const char* sql = statements()[index].insert.c_str();
    for (const auto& row : rows) {
      if (row.size() != table.columns.size()) {
        return make_error_code(errc::storage_failure);
      }
      pg_params params;
      for (const auto& value : row) {
        std::visit([&](const auto& v) { add(params, v); }, value);
      }
      if (auto done = db_.run(sql, params); !done) {
        return done.error();
      }
    }
    return {};
  }

 private:
  static void add(pg_params& p, std::int64_t v) { p.add(v); }
  static void add(pg_params& p, const std::string& v) { p.add(std::string_view(v)); }
  static void add(pg_params& p, const std::vector<std::uint8_t>& v) {
    p.add(std::span<const std::uint8_t>(v));
  }

  pg_connection& db_;
};

}  // namespace

result<copy_marks> postgres_store::export_club(copy_sink& sink) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  transaction tx(**db);
  if (auto begun = tx.begin("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"); !begun) {
    return begun.error();
  }
  const auto& tables = copy_tables();
  for (std::size_t t = 0; t < tables.size(); ++t) {
    const auto& table = tables[t];
    const auto& sql = statements()[t];
    if (!table.by_id) {
      auto rows = (*db)->run(sql.select_all.c_str());
      if (!rows) {
        return rows.error();
      }
      const auto batch = read_rows(table, *rows);
      if (auto sent = sink.rows(table, batch); !sent) {
        return sent.error();
      }
      continue;
    }
    std::int64_t after = std::numeric_limits<std::int64_t>::min();
    for (;;) {
      auto rows = (*db)->run(sql.select_after.c_str(), pg_params{}.add(after));
      if (!rows) {
        return rows.error();
      }
      if (rows->size() == 0) {
        break;
      }
      const auto batch = read_rows(table, *rows);
      after = std::get<std::int64_t>(batch.back().front());
      if (auto sent = sink.rows(table, batch); !sent) {
        return sent.error();
      }
    }
  }
  copy_marks marks;
  // The identity's last value: the highest message id ever handed out, removed ones included.
  auto highest = one_int(**db,
                         "SELECT greatest(coalesce(pg_sequence_last_value("
                         "pg_get_serial_sequence('messages', 'id')::regclass), 0), "
                         "coalesce((SELECT max(id) FROM messages), 0))");
  if (!highest) {
    return highest.error();
  }
  marks.message_ids = *highest;
  auto crl = one_int(**db, "SELECT number FROM crl_counter WHERE id = 1");
  if (!crl) {
    return crl.error();
  }
  marks.crl_number = *crl;
  if (auto done = tx.commit(); !done) {
    return done.error();
  }
  return marks;
}

result<void> postgres_store::import_club(
    const std::function<result<copy_marks>(copy_sink&)>& fill) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  transaction tx(**db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  // No init or other copy can add a member or a key check between this check and the commit
  // (what else a store holds comes after those two).
  if (auto locked = (*db)->exec("LOCK TABLE members, club_meta IN SHARE ROW EXCLUSIVE MODE");
      !locked) {
    return locked.error();
  }
  auto held = one_int(**db, copy_rows_sql());
  if (!held) {
    return held.error();
  }
  if (*held != 0) {
    return make_error_code(errc::already_exists);
  }
  pg_inserter inserter(**db);
  auto marks = fill(inserter);
  if (!marks) {
    return marks.error();
  }
  const auto& tables = copy_tables();
  for (std::size_t t = 0; t < tables.size(); ++t) {
    if (!tables[t].by_id) {
      continue;
    }
    const std::int64_t floor =
        std::string_view(tables[t].name) == "messages" ? marks->message_ids : 0;
    if (auto raised = (*db)->run(statements()[t].raise_ids.c_str(), pg_params{}.add(floor));
        !raised) {
      return raised.error();
    }
  }
  if (auto crl =
          (*db)->run("UPDATE crl_counter SET number = greatest(number, $1::bigint) WHERE id = 1",
                     pg_params{}.add(marks->crl_number));
      !crl) {
    return crl.error();
  }
  return tx.commit();
}

}  // namespace hush::store
