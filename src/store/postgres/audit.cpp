// postgres_store: the audit trail, and the audit commit that keeps reads from memory exact.
#include <algorithm>
#include <array>
#include <string>

#include "store/postgres/postgres_store.hpp"
#include "store/postgres/queries.hpp"

namespace hush::store {

using namespace postgres_detail;  // NOLINT(google-build-using-namespace): our own helpers

namespace {

// Audit rows per INSERT: a batch of records is written in a round trip per this many, not one
// per record (the audit commit is on every read's path).
constexpr std::size_t audit_rows_per_insert = 32;

// The INSERT of n audit rows (1 to audit_rows_per_insert), each made once: a connection prepares
// statements by the text's address.
const char* insert_audits_sql(std::size_t n) {
  static const auto sql = [] {
    std::array<std::string, audit_rows_per_insert + 1> out;
    for (std::size_t rows = 1; rows <= audit_rows_per_insert; ++rows) {
      std::string text = "INSERT INTO audit (at, member, message_id, remote) VALUES ";
      for (std::size_t r = 0; r < rows; ++r) {
        const auto first = r * 4 + 1;
        text += r == 0 ? "($" : ", ($";
        text += std::to_string(first);
        text += "::bigint, $";
        text += std::to_string(first + 1);
        text += "::text, $";
        text += std::to_string(first + 2);
        text += "::bigint, $";
        text += std::to_string(first + 3);
        text += "::text)";
      }
      out[rows] = std::move(text);
    }
    return out;
  }();
  return sql[n].c_str();
}

// Audit rows, in order, inside the caller's transaction (add_audits, add_audits_as_of).
result<void> insert_audits(pg_connection& db, std::span<const audit_record* const> records) {
  for (std::size_t start = 0; start < records.size(); start += audit_rows_per_insert) {
    const auto n = std::min(audit_rows_per_insert, records.size() - start);
    pg_params params;
    for (const auto* record : records.subspan(start, n)) {
      params.add(record->at).add(record->member).add(record->message.value).add(record->remote);
    }
    if (auto done = db.run(insert_audits_sql(n), params); !done) {
      return done.error();
    }
  }
  return {};
}

}  // namespace

result<void> postgres_store::add_audit(const audit_record& record) {
  return add_audits(std::span(&record, 1));
}

result<void> postgres_store::add_audits(std::span<const audit_record> records) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  std::vector<const audit_record*> rows;
  rows.reserve(records.size());
  for (const auto& record : records) {
    rows.push_back(&record);
  }
  return retried(**db, [&]() -> result<void> {
    transaction tx(**db);
    if (auto begun = tx.begin(); !begun) {
      return begun;
    }
    if (auto inserted = insert_audits(**db, rows); !inserted) {
      return inserted;
    }
    return tx.commit();
  });
}

result<std::vector<audit_record>> postgres_store::list_audit(std::size_t limit) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_all<audit_record>(
      **db,
      "SELECT at, member, message_id, remote FROM "
      "(SELECT id, at, member, message_id, remote FROM audit ORDER BY id DESC LIMIT $1::bigint) "
      "AS newest ORDER BY id",
      pg_params{}.add(static_cast<std::int64_t>(limit)), [](const pg_rows& rows, std::size_t r) {
        return audit_record{rows.column_int(r, 0), rows.column_text(r, 1),
                            message_id{rows.column_int(r, 2)}, rows.column_text(r, 3)};
      });
}

result<std::vector<audit_record>> postgres_store::reads_of(message_id id, std::size_t limit) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // The index audit_message (message_id, id): a range scan in the order added.
  return query_all<audit_record>(
      **db,
      "SELECT at, member, message_id, remote FROM audit WHERE message_id = $1::bigint "
      "ORDER BY id LIMIT $2::bigint",
      pg_params{}.add(id.value).add(static_cast<std::int64_t>(limit)),
      [](const pg_rows& rows, std::size_t r) {
        return audit_record{rows.column_int(r, 0), rows.column_text(r, 1),
                            message_id{rows.column_int(r, 2)}, rows.column_text(r, 3)};
      });
}

result<std::size_t> postgres_store::prune_audit(std::int64_t before, std::size_t limit) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  auto done = (*db)->run(
      "DELETE FROM audit WHERE id IN "
      "(SELECT id FROM audit WHERE at < $1::bigint ORDER BY at LIMIT $2::bigint)",
      pg_params{}.add(before).add(static_cast<std::int64_t>(limit)));
  if (!done) {
    return done.error();
  }
  return done->changed();
}

result<std::uint64_t> postgres_store::add_audits_as_of(std::span<const audited_read> reads,
                                                       std::vector<bool>& added) {
  added.assign(reads.size(), false);
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  std::vector<bool> inserted;
  std::vector<const audit_record*> rows;
  rows.reserve(reads.size());
  auto generation = retried(**db, [&]() -> result<std::uint64_t> {
    inserted.assign(reads.size(), false);
    transaction tx(**db);
    if (auto begun = tx.begin(); !begun) {
      return begun.error();
    }
    // FOR SHARE: a change that has bumped the generation but not committed makes this wait, then
    // read its value; once read, no change can bump it (each takes the row FOR UPDATE first)
    // until this transaction commits. The value read is the generation at the commit.
    auto now = read_generation(**db, "SELECT value FROM change_generation WHERE id = 1 FOR SHARE");
    if (!now) {
      return now.error();
    }
    rows.clear();
    for (std::size_t i = 0; i < reads.size(); ++i) {
      const auto& read = reads[i];
      if (read.as_of != 0 && read.as_of != *now) {
        continue;
      }
      rows.push_back(&read.record);
      inserted[i] = true;
    }
    if (auto written = insert_audits(**db, rows); !written) {
      return written.error();
    }
    if (auto committed = tx.commit(); !committed) {
      return committed.error();
    }
    return *now;
  });
  if (generation) {
    added = std::move(inserted);
  }
  return generation;
}

}  // namespace hush::store
