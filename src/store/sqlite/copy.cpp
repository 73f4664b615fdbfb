// sqlite_store: a whole club copied out (one read transaction) and in (one write transaction).
#include <limits>

#include "core/error.hpp"
#include "store/club_copy.hpp"
#include "store/sqlite/queries.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace hush::store {

using namespace sqlite_detail;  // NOLINT(google-build-using-namespace): our own helpers

namespace {

// Rows read per statement when a table is read by id.
constexpr int copy_batch = 1000;

// Each table's statements, made once: the connection caches statements by the text's address.
struct copy_sql {
  std::string select_after;  // by_id: the next batch after ?1
  std::string select_all;    // otherwise: every row
  std::string insert;
};

const std::vector<copy_sql>& statements() {
  static const std::vector<copy_sql> sql = [] {
    std::vector<copy_sql> out;
    for (const auto& table : copy_tables()) {
      std::string columns;
      std::string values;
      for (std::size_t i = 0; i < table.columns.size(); ++i) {
        columns += i == 0 ? "" : ", ";
        columns += table.columns[i].name;
        values += i == 0 ? "?" : ", ?";
        values += std::to_string(i + 1);
      }
      copy_sql s;
      const std::string select = "SELECT " + columns + " FROM " + table.name;
      s.select_after = select + " WHERE id > ?1 ORDER BY id LIMIT " + std::to_string(copy_batch);
      s.select_all = select + " ORDER BY " + table.columns.front().name;
      s.insert =
          std::string("INSERT INTO ") + table.name + " (" + columns + ") VALUES (" + values + ")";
      out.push_back(std::move(s));
    }
    return out;
  }();
  return sql;
}

copy_row read_row(const copy_table& table, sqlite_statement& s) {
  copy_row row;
  row.reserve(table.columns.size());
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    const int column = static_cast<int>(i);
    switch (table.columns[i].kind) {
      case column_kind::integer:
        row.emplace_back(s.column_int(column));
        break;
      case column_kind::text:
        row.emplace_back(s.column_text(column));
        break;
      case column_kind::bytes:
        row.emplace_back(s.column_blob(column));
        break;
    }
  }
  return row;
}

// Every row the statement gives.
result<std::vector<copy_row>> read_rows(const copy_table& table, sqlite_statement& s) {
  std::vector<copy_row> rows;
  for (;;) {
    auto more = s.step();
    if (!more) {
      return more.error();
    }
    if (!*more) {
      return rows;
    }
    rows.push_back(read_row(table, s));
  }
}

result<std::int64_t> one_int(sqlite_connection& db, const char* sql) {
  return query_one<std::int64_t>(
      db, sql, [](sqlite_statement&) {}, [](sqlite_statement& s) { return s.column_int(0); });
}

}  // namespace

result<copy_marks> sqlite_store::export_club(copy_sink& sink) {
  auto db = acquire();
  read_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  const auto& tables = copy_tables();
  for (std::size_t t = 0; t < tables.size(); ++t) {
    const auto& table = tables[t];
    const auto& sql = statements()[t];
    if (!table.by_id) {
      auto stmt = db->prepare(sql.select_all.c_str());
      if (!stmt) {
        return stmt.error();
      }
      auto rows = read_rows(table, *stmt);
      if (!rows) {
        return rows.error();
      }
      if (auto sent = sink.rows(table, *rows); !sent) {
        return sent.error();
      }
      continue;
    }
    std::int64_t after = std::numeric_limits<std::int64_t>::min();
    for (;;) {
      auto stmt = db->prepare(sql.select_after.c_str());
      if (!stmt) {
        return stmt.error();
      }
      stmt->bind(1, after);
      auto rows = read_rows(table, *stmt);
      if (!rows) {
        return rows.error();
      }
      if (rows->empty()) {
        break;
      }
      after = std::get<std::int64_t>(rows->back().front());
      if (auto sent = sink.rows(table, *rows); !sent) {
        return sent.error();
      }
    }
  }
  copy_marks marks;
  // AUTOINCREMENT's record of the highest id ever used; no row until the first message.
  auto highest = one_int(*db,
                         "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
                         "'messages'), 0), coalesce((SELECT max(id) FROM messages), 0))");
  if (!highest) {
    return highest.error();
  }
  marks.message_ids = *highest;
  auto crl = one_int(*db, "SELECT number FROM crl_counter WHERE id = 1");
  if (!crl) {
    return crl.error();
  }
  marks.crl_number = *crl;
  return marks;
}

namespace {

class sqlite_inserter final : public copy_sink {
 public:
  explicit sqlite_inserter(sqlite_connection& db) : db_(db) {}

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
      auto stmt = db_.prepare(sql);
      if (!stmt) {
        return stmt.error();
      }
      for (std::size_t i = 0; i < row.size(); ++i) {
        const int at = static_cast<int>(i) + 1;
        std::visit([&](const auto& value) { bind_value(*stmt, at, value); }, row[i]);
      }
      if (auto done = stmt->run(); !done) {
        return done.error();
      }
    }
    return {};
  }

 private:
  static void bind_value(sqlite_statement& s, int at, std::int64_t value) { s.bind(at, value); }
  static void bind_value(sqlite_statement& s, int at, const std::string& value) {
    s.bind(at, std::string_view(value));
  }
  static void bind_value(sqlite_statement& s, int at, const std::vector<std::uint8_t>& value) {
    s.bind(at, std::span<const std::uint8_t>(value));
  }

  sqlite_connection& db_;
};

}  // namespace

result<void> sqlite_store::import_club(const std::function<result<copy_marks>(copy_sink&)>& fill) {
  auto db = acquire();
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  auto held = one_int(*db, copy_rows_sql());
  if (!held) {
    return held.error();
  }
  if (*held != 0) {
    return make_error_code(errc::already_exists);
  }
  sqlite_inserter inserter(*db);
  auto marks = fill(inserter);
  if (!marks) {
    return marks.error();
  }
  // The next message id is above every id the source ever handed out, removed ones included:
  // AUTOINCREMENT keeps its mark in sqlite_sequence (a row the inserts above made, if any).
  auto raised =
      db->prepare("UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'messages'");
  if (!raised) {
    return raised.error();
  }
  raised->bind(1, marks->message_ids);
  if (auto done = raised->run(); !done) {
    return done.error();
  }
  if (db->changes() == 0) {
    auto mark = db->prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', ?1)");
    if (!mark) {
      return mark.error();
    }
    mark->bind(1, marks->message_ids);
    if (auto done = mark->run(); !done) {
      return done.error();
    }
  }
  auto crl = db->prepare("UPDATE crl_counter SET number = max(number, ?1) WHERE id = 1");
  if (!crl) {
    return crl.error();
  }
  crl->bind(1, marks->crl_number);
  if (auto done = crl->run(); !done) {
    return done.error();
  }
  return tx.commit();
}

}  // namespace hush::store
