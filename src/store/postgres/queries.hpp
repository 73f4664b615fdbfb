#pragma once

// What the postgres_store sources share: the pooled connection's lease, the transaction, the
// advisory locks and the small query helpers every store method is written with. Internal to
// store/postgres/.

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/postgres_store.hpp"

namespace hush::store {

// A connection taken from the pool for the length of one store call; back to the pool after it,
// or closed if the server dropped it.
class postgres_store::lease {
 public:
  lease(postgres_store& owner, std::unique_ptr<pg_connection> connection)
      : owner_(&owner), connection_(std::move(connection)) {}
  lease(lease&& other) noexcept = default;
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  lease& operator=(lease&&) = delete;
  ~lease() {
    if (connection_) {
      owner_->give_back(std::move(connection_));
    }
  }
  pg_connection* operator->() { return connection_.get(); }
  pg_connection& operator*() { return *connection_; }

 private:
  postgres_store* owner_;
  std::unique_ptr<pg_connection> connection_;
};

namespace postgres_detail {

// Transaction-scoped advisory locks (pg_advisory_xact_lock): what must be decided in one step
// across every process, as SQLite's single write lock decides it. Keys start with "hush".
inline constexpr std::int64_t schema_lock = 0x6875736800000001;
inline constexpr std::int64_t admins_lock = 0x6875736800000002;    // the last admin
inline constexpr std::int64_t keys_lock = 0x6875736800000003;      // data keys and their guard
inline constexpr std::int64_t messages_lock = 0x6875736800000004;  // ids commit in order

// A transaction on one connection; rolled back unless committed. READ COMMITTED unless begun
// with another mode: each statement sees what committed before it, and the advisory and row
// locks above decide the races.
class transaction {
 public:
  explicit transaction(pg_connection& db) : db_(db) {}
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  // A transaction that ends without its commit (an error, a conflict, a deadlock to retry) is
  // rolled back here, so that the connection can begin the next one, unless it is lost.
  ~transaction() {
    if (open_ && !db_.lost()) {
      [[maybe_unused]] auto ignored = db_.exec("ROLLBACK");
    }
  }
  result<void> begin(const char* sql = "BEGIN") {
    auto begun = db_.exec(sql);
    open_ = static_cast<bool>(begun);
    return begun;
  }
  result<void> commit() {
    auto committed = db_.exec("COMMIT");
    open_ = false;
    return committed;
  }

 private:
  pg_connection& db_;
  bool open_ = false;
};

inline result<void> advisory_lock(pg_connection& db, std::int64_t key) {
  auto locked = db.run("SELECT pg_advisory_xact_lock($1::bigint)", pg_params{}.add(key));
  if (!locked) {
    return locked.error();
  }
  return {};
}

// Runs `attempt` (a whole transaction) again when a concurrent one made it fail with a deadlock
// or a serialization failure, a few times; then its storage_busy stands. Only for attempts
// that may run twice (no sealer: a sealer runs at most once).
template <class Attempt>
auto retried(pg_connection& db, Attempt&& attempt) -> decltype(attempt()) {
  constexpr int attempts = 3;
  for (int i = 1;; ++i) {
    auto done = attempt();
    if (done || i == attempts || !db.retryable_failure()) {
      return done;
    }
  }
}

// Runs a single-statement change and maps "no row changed" to not_found.
inline result<void> change_one(pg_connection& db, const char* sql, const pg_params& params) {
  auto done = db.run(sql, params);
  if (!done) {
    return done.error();
  }
  if (done->changed() == 0) {
    return make_error_code(errc::not_found);
  }
  return {};
}

// Runs a query expected to return at most one row, read with `read`; not_found without a row.
template <class Record, class Read>
result<Record> query_one(pg_connection& db, const char* sql, const pg_params& params, Read&& read) {
  auto rows = db.run(sql, params);
  if (!rows) {
    return rows.error();
  }
  if (rows->size() == 0) {
    return make_error_code(errc::not_found);
  }
  return read(*rows, 0);
}

// Runs a query and reads every row with `read`.
template <class Record, class Read>
result<std::vector<Record>> query_all(pg_connection& db, const char* sql, const pg_params& params,
                                      Read&& read) {
  auto rows = db.run(sql, params);
  if (!rows) {
    return rows.error();
  }
  std::vector<Record> out;
  out.reserve(rows->size());
  for (std::size_t r = 0; r < rows->size(); ++r) {
    out.push_back(read(*rows, r));
  }
  return out;
}

// Members are read as id, name, role, password_hash, created_at from column `first`.
inline member_record read_member(const pg_rows& rows, std::size_t r, int first = 0) {
  member_record m;
  m.id = member_id{rows.column_int(r, first)};
  m.name = rows.column_text(r, first + 1);
  parse_role(rows.column_text(r, first + 2), m.member_role);
  m.password_hash = rows.column_text(r, first + 3);
  m.created_at = rows.column_int(r, first + 4);
  return m;
}

// The newest message not expired at `now` that `who` may see (every one when null), recipients
// included, in one statement (message_reads.cpp).
result<message_record> newest_message_in(pg_connection& db, std::int64_t now, const viewer* who);

inline client_cert_record read_client_cert(const pg_rows& rows, std::size_t r) {
  return client_cert_record{rows.column_text(r, 0), rows.column_text(r, 1), rows.column_int(r, 2),
                            rows.column_int(r, 3), rows.column_int(r, 4)};
}

inline result<std::size_t> revoke_certs_of(pg_connection& db, std::string_view member,
                                           std::int64_t at) {
  auto done = db.run(
      "UPDATE client_certs SET revoked_at = $2::bigint WHERE member = $1::text AND revoked_at = 0",
      pg_params{}.add(member).add(at));
  if (!done) {
    return done.error();
  }
  return done->changed();
}

// The change generation, read by `sql` (plain, or FOR SHARE).
inline result<std::uint64_t> read_generation(pg_connection& db, const char* sql) {
  auto generation = query_one<std::int64_t>(
      db, sql, {}, [](const pg_rows& rows, std::size_t r) { return rows.column_int(r, 0); });
  if (!generation) {
    return generation.error();
  }
  return static_cast<std::uint64_t>(*generation);
}

}  // namespace postgres_detail
}  // namespace hush::store
