#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"

struct pg_conn;
struct pg_result;

namespace hush::store {

// The parameters of one statement, bound in order ($1, $2, ...). Integers travel as text (so that
// the server may read them as any integer type), strings and bytes in binary (their length is
// theirs, a NUL included: the server refuses one in text rather than cutting the value short).
class pg_params {
 public:
  pg_params& add(std::int64_t value);
  pg_params& add(std::string_view value);
  pg_params& add(std::span<const std::uint8_t> value);

 private:
  friend class pg_connection;
  struct param {
    std::string bytes;
    bool binary = false;
  };
  std::vector<param> params_;
};

// The rows of a statement's answer, read in binary. Not thread safe.
class pg_rows {
 public:
  explicit pg_rows(pg_result* result) noexcept : result_(result) {}
  pg_rows(const pg_rows&) = delete;
  pg_rows& operator=(const pg_rows&) = delete;
  pg_rows(pg_rows&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  pg_rows& operator=(pg_rows&&) = delete;
  ~pg_rows();

  std::size_t size() const noexcept;
  // How many rows an INSERT, UPDATE or DELETE changed.
  std::size_t changed() const noexcept;

  // A bigint, integer, smallint or boolean column (0 for NULL).
  std::int64_t column_int(std::size_t row, int column) const noexcept;
  std::string column_text(std::size_t row, int column) const;
  std::vector<std::uint8_t> column_blob(std::size_t row, int column) const;

 private:
  pg_result* result_;
};

// How long the store waits for the server: to connect (unless the connection string says
// otherwise), for one statement, and for a lock inside one.
struct pg_timeouts {
  std::chrono::seconds connect{5};
  std::chrono::milliseconds statement{10000};
  std::chrono::milliseconds lock{5000};
};

// One libpq connection with its prepared statements. Not thread safe: one thread at a time, which
// the store's pool guarantees. A connection the server dropped (restart, failover,
// pg_terminate_backend) says so with broken(), and the pool makes a new one.
class pg_connection {
 public:
  // Connects and sets the session's timeouts. storage_unavailable, and `why` filled with libpq's
  // reason with every password in `conninfo` scrubbed out, when it cannot.
  static result<std::unique_ptr<pg_connection>> connect(const std::string& conninfo,
                                                        const pg_timeouts& timeouts,
                                                        std::string* why = nullptr);
  ~pg_connection();
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  // Runs a statement, prepared once per connection; `sql` must be a string literal (its address
  // keys the cache). A statement the server answers with a WARNING fails, storage_unavailable
  // (see finish()).
  result<pg_rows> run(const char* sql, const pg_params& params = {});
  // Runs SQL without parameters and unprepared (transaction control, migrations); a WARNING
  // fails it as it does run().
  result<void> exec(const char* sql);
  // True once the server has gone away; also notices, without a round trip, a connection the
  // server closed while it sat idle in the pool. Also true inside a transaction: the pool takes
  // back only idle connections.
  bool broken();
  // True once the connection is lost (whatever its transaction state): nothing more can be sent.
  bool lost() const;
  // True when the last statement failed because a concurrent transaction deadlocked with it or
  // made it unserializable: its transaction, run again, may well succeed.
  bool retryable_failure() const noexcept;
  // For a connection that LISTENs: waits up to `timeout` for the server, reads what it sent and
  // returns how many notifications arrived; storage_unavailable once the connection is lost.
  result<std::size_t> wait_for_notifications(std::chrono::milliseconds timeout);
  // libpq's message for the last failure (for a startup error; never holds the password).
  std::string error_message() const;

 private:
  explicit pg_connection(pg_conn* conn) noexcept : conn_(conn) {}
  result<pg_rows> finish(pg_result* result);
  static void on_notice(void* self, const pg_result* notice);

  pg_conn* conn_;
  std::string last_sqlstate_;
  bool doomed_ = false;  // the server said it ends this session
  bool warned_ = false;  // the server sent a WARNING during the current statement
  std::unordered_map<const char*, std::string> prepared_;
};

// Maps an SQLSTATE to our errors: unique and check violations -> already_exists, a foreign key
// violation -> not_found (the row it names is gone), lock and statement timeouts, deadlocks,
// serialization failures and too many connections -> storage_busy, disk full -> disk_full, a
// read-only transaction (a standby) -> read_only, a lost connection (no SQLSTATE), a connection
// exception or a server shutting down or starting -> storage_unavailable, anything else ->
// storage_failure.
std::error_code pg_error(std::string_view sqlstate);

// libpq's message with every password the connection string holds replaced by "***" (libpq can
// echo parts of a malformed string). `conninfo` is a keyword=value string or a URI.
std::string scrub_password(std::string message, const std::string& conninfo);

}  // namespace hush::store
