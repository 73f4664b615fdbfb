#include "store/postgres/connection.hpp"

#include <array>
#include <cstring>
#include <dlfcn.h>
#include <libpq-fe.h>
#include <poll.h>
#include <string>
#include <type_traits>
#include <utility>

#include "core/error.hpp"

namespace hush::store {
namespace {

// libpq, and what it brings along (Kerberos, LDAP, SASL, GnuTLS: 25 libraries in all), is loaded
// only when a club uses PostgreSQL. Linked, it cost every start of hush the loading of all of
// them: a CLI command on a SQLite club took 22 ms instead of 6.5 (bench/run).
struct libpq_api {
  decltype(&::PQconninfoParse) conninfo_parse = nullptr;
  decltype(&::PQfreemem) freemem = nullptr;
  decltype(&::PQconninfoFree) conninfo_free = nullptr;
  decltype(&::PQclear) clear = nullptr;
  decltype(&::PQntuples) ntuples = nullptr;
  decltype(&::PQcmdTuples) cmd_tuples = nullptr;
  decltype(&::PQgetisnull) getisnull = nullptr;
  decltype(&::PQgetvalue) getvalue = nullptr;
  decltype(&::PQgetlength) getlength = nullptr;
  decltype(&::PQconnectdbParams) connectdb_params = nullptr;
  decltype(&::PQsetNoticeReceiver) set_notice_receiver = nullptr;
  decltype(&::PQstatus) status = nullptr;
  decltype(&::PQerrorMessage) error_message = nullptr;
  decltype(&::PQfinish) finish = nullptr;
  decltype(&::PQresultErrorField) result_error_field = nullptr;
  decltype(&::PQsocket) socket = nullptr;
  decltype(&::PQconsumeInput) consume_input = nullptr;
  decltype(&::PQnotifies) notifies = nullptr;
  decltype(&::PQtransactionStatus) transaction_status = nullptr;
  decltype(&::PQresultStatus) result_status = nullptr;
  decltype(&::PQprepare) prepare = nullptr;
  decltype(&::PQexecPrepared) exec_prepared = nullptr;
  decltype(&::PQexec) exec = nullptr;
};

struct libpq_loaded {
  libpq_api api;
  std::string error;  // empty when every function was found
};

const libpq_loaded& libpq() {
  static const libpq_loaded loaded = [] {
    libpq_loaded made;
    // Never closed: connections may live until the process ends.
    void* handle = ::dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      made.error = std::string("PostgreSQL needs libpq (Debian: libpq5): ") +
                   (why != nullptr ? why : "libpq.so.5 cannot be loaded");
      return made;
    }
    auto& api = made.api;
    const auto bind = [&](auto& slot, const char* name) {
      void* symbol = ::dlsym(handle, name);
      if (symbol == nullptr && made.error.empty()) {
        made.error = std::string("libpq.so.5 has no ") + name;
      }
      slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(symbol);
    };
    bind(api.conninfo_parse, "PQconninfoParse");
    bind(api.freemem, "PQfreemem");
    bind(api.conninfo_free, "PQconninfoFree");
    bind(api.clear, "PQclear");
    bind(api.ntuples, "PQntuples");
    bind(api.cmd_tuples, "PQcmdTuples");
    bind(api.getisnull, "PQgetisnull");
    bind(api.getvalue, "PQgetvalue");
    bind(api.getlength, "PQgetlength");
    bind(api.connectdb_params, "PQconnectdbParams");
    bind(api.set_notice_receiver, "PQsetNoticeReceiver");
    bind(api.status, "PQstatus");
    bind(api.error_message, "PQerrorMessage");
    bind(api.finish, "PQfinish");
    bind(api.result_error_field, "PQresultErrorField");
    bind(api.socket, "PQsocket");
    bind(api.consume_input, "PQconsumeInput");
    bind(api.notifies, "PQnotifies");
    bind(api.transaction_status, "PQtransactionStatus");
    bind(api.result_status, "PQresultStatus");
    bind(api.prepare, "PQprepare");
    bind(api.exec_prepared, "PQexecPrepared");
    bind(api.exec, "PQexec");
    return made;
  }();
  return loaded;
}

// Only where libpq() has loaded: behind a connection that exists, or after a check.
const libpq_api& pq() {
  return libpq().api;
}

// Inactive sessions must not hold locks for ever: a transaction left open (a crashed client
// process, a bug) is ended by the server after this long.
constexpr int idle_in_transaction_ms = 60000;
// How many reads an idle connection's check makes at most: the farewell, the end of file.
constexpr int max_idle_reads = 4;

void replace_all(std::string& text, const std::string& secret) {
  if (secret.empty()) {
    return;
  }
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "***");
    at += 3;
  }
}

// What may be a password in `conninfo`, read without libpq (which may read a malformed string
// otherwise, e.g. a password holding a raw '/' as a port): the user info of a URI, up to its last
// '@', after the first ':' (and each piece of it between URI delimiters, should libpq have split
// it), and the value of every password= keyword.
std::vector<std::string> guessed_passwords(const std::string& conninfo) {
  std::vector<std::string> found;
  if (const auto scheme = conninfo.find("://"); scheme != std::string::npos) {
    const auto start = scheme + 3;
    const auto at = conninfo.rfind('@');
    const auto colon = conninfo.find(':', start);
    if (at != std::string::npos && at > start && colon != std::string::npos && colon < at) {
      const auto secret = conninfo.substr(colon + 1, at - colon - 1);
      found.push_back(secret);
      std::size_t piece = 0;
      for (std::size_t i = 0; i <= secret.size(); ++i) {
        if (i == secret.size() || std::strchr("/?#:@&=", secret[i]) != nullptr) {
          if (i - piece >= 2) {
            found.push_back(secret.substr(piece, i - piece));
          }
          piece = i + 1;
        }
      }
    }
  }
  for (auto key = conninfo.find("password="); key != std::string::npos;
       key = conninfo.find("password=", key + 1)) {
    const auto start = key + std::strlen("password=");
    const auto end = conninfo.find_first_of(" &", start);
    found.push_back(conninfo.substr(start, end == std::string::npos ? end : end - start));
  }
  return found;
}

}  // namespace

std::string scrub_password(std::string message, const std::string& conninfo) {
  char* parse_error = nullptr;
  PQconninfoOption* options =
      libpq().error.empty() ? pq().conninfo_parse(conninfo.c_str(), &parse_error) : nullptr;
  if (parse_error != nullptr) {
    pq().freemem(parse_error);
  }
  if (options != nullptr) {
    for (auto* option = options; option->keyword != nullptr; ++option) {
      if (option->val != nullptr && std::strcmp(option->keyword, "password") == 0) {
        replace_all(message, option->val);
      }
    }
    pq().conninfo_free(options);
  } else if (!guessed_passwords(conninfo).empty() ||
             conninfo.find("password") != std::string::npos) {
    // libpq's reason for a string it cannot parse may quote any of it ("...in URI: "<the whole
    // URI>"", 'missing "=" after "<a word of an unquoted password>"'), in forms no guess can
    // foresee: withheld when the string may hold a password.
    return "not a valid libpq connection string or postgresql:// URI (libpq's reason is "
           "withheld: it may quote the password)";
  }
  // Also the password as written (percent-encoded in a URI), and whatever a string libpq could
  // not parse holds where a password would be.
  for (const auto& secret : guessed_passwords(conninfo)) {
    replace_all(message, secret);
  }
  return message;
}

std::error_code pg_error(std::string_view sqlstate) {
  if (sqlstate == "23503") {
    return make_error_code(errc::not_found);
  }
  if (sqlstate.starts_with("23")) {
    return make_error_code(errc::already_exists);
  }
  if (sqlstate == "55P03" || sqlstate == "57014" || sqlstate == "40001" || sqlstate == "40P01" ||
      sqlstate == "53300") {
    return make_error_code(errc::storage_busy);
  }
  if (sqlstate == "53100") {
    return make_error_code(errc::disk_full);
  }
  if (sqlstate == "25006") {
    return make_error_code(errc::read_only);
  }
  // No SQLSTATE (libpq lost the connection), a connection exception, or the server shutting down
  // or starting up: the store is unreachable for now, not broken.
  if (sqlstate.empty() || sqlstate.starts_with("08") || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03") {
    return make_error_code(errc::storage_unavailable);
  }
  return make_error_code(errc::storage_failure);
}

pg_params& pg_params::add(std::int64_t value) {
  params_.push_back({std::to_string(value), false});
  return *this;
}

pg_params& pg_params::add(std::string_view value) {
  params_.push_back({std::string(value), true});
  return *this;
}

pg_params& pg_params::add(std::span<const std::uint8_t> value) {
  params_.push_back({std::string(value.begin(), value.end()), true});
  return *this;
}

pg_rows::~pg_rows() {
  if (result_ != nullptr) {
    pq().clear(result_);
  }
}

std::size_t pg_rows::size() const noexcept {
  return static_cast<std::size_t>(pq().ntuples(result_));
}

std::size_t pg_rows::changed() const noexcept {
  const char* tuples = pq().cmd_tuples(result_);
  std::size_t count = 0;
  for (; tuples != nullptr && *tuples >= '0' && *tuples <= '9'; ++tuples) {
    count = count * 10 + static_cast<std::size_t>(*tuples - '0');
  }
  return count;
}

std::int64_t pg_rows::column_int(std::size_t row, int column) const noexcept {
  const int r = static_cast<int>(row);
  if (pq().getisnull(result_, r, column) != 0) {
    return 0;
  }
  // Binary integers are big-endian, of their type's width.
  const auto* bytes = reinterpret_cast<const unsigned char*>(pq().getvalue(result_, r, column));
  const int length = pq().getlength(result_, r, column);
  std::uint64_t value = 0;
  for (int i = 0; i < length; ++i) {
    value = (value << 8U) | bytes[i];
  }
  if (length > 0 && length < 8 && (bytes[0] & 0x80U) != 0) {
    value |= ~std::uint64_t{0} << (8U * static_cast<unsigned>(length));  // sign-extend
  }
  return static_cast<std::int64_t>(value);
}

std::string pg_rows::column_text(std::size_t row, int column) const {
  const int r = static_cast<int>(row);
  return {pq().getvalue(result_, r, column),
          static_cast<std::size_t>(pq().getlength(result_, r, column))};
}

std::vector<std::uint8_t> pg_rows::column_blob(std::size_t row, int column) const {
  const int r = static_cast<int>(row);
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(pq().getvalue(result_, r, column));
  return {bytes, bytes + pq().getlength(result_, r, column)};
}

result<std::unique_ptr<pg_connection>> pg_connection::connect(const std::string& conninfo,
                                                              const pg_timeouts& timeouts,
                                                              std::string* why) {
  // The connection string comes last, so that what it says (its own connect_timeout, several
  // hosts, target_session_attrs) wins over these defaults.
  const std::string connect_timeout = std::to_string(timeouts.connect.count());
  // A server that stops answering (frozen, or cut off by the network) must not hold a request, a
  // pool slot or a shutdown for the kernel's quarter of an hour of retransmissions: TCP
  // keepalives find a silent peer within about 20 s, and tcp_user_timeout ends a connection
  // whose sent data goes unacknowledged for 20 s. (A Unix socket ignores both.)
  const std::array<const char*, 9> keywords = {
      "connect_timeout",           "keepalives",       "keepalives_idle",
      "keepalives_interval",       "keepalives_count", "tcp_user_timeout",
      "fallback_application_name", "dbname",           nullptr};
  const std::array<const char*, 9> values = {
      connect_timeout.c_str(), "1", "10", "5", "2", "20000", "hush", conninfo.c_str(), nullptr};
  if (const auto& library = libpq().error; !library.empty()) {
    if (why != nullptr) {
      *why = library;
    }
    return make_error_code(errc::storage_failure);
  }
  pg_conn* conn = pq().connectdb_params(keywords.data(), values.data(), 1);
  if (conn == nullptr) {
    if (why != nullptr) {
      *why = "out of memory";
    }
    return make_error_code(errc::storage_failure);
  }
  std::unique_ptr<pg_connection> made(new pg_connection(conn));
  pq().set_notice_receiver(conn, &pg_connection::on_notice, made.get());
  if (pq().status(conn) != CONNECTION_OK) {
    if (why != nullptr) {
      *why = scrub_password(pq().error_message(conn), conninfo);
      while (!why->empty() && (why->back() == '\n' || why->back() == ' ')) {
        why->pop_back();
      }
    }
    return make_error_code(errc::storage_unavailable);
  }
  // UTF-8 whatever the server's default; timeouts so that a lock or a query never holds a
  // caller (and a pool slot) for ever: they end as storage_busy. synchronous_commit is left as
  // the server sets it: never lowered here.
  // READ COMMITTED whatever the role's default: the store's transactions rely on each statement
  // seeing what committed before it, once a lock is granted.
  std::string setup =
      "SET client_encoding = 'UTF8'; SET default_transaction_isolation = 'read committed'; "
      "SET statement_timeout = ";
  setup += std::to_string(timeouts.statement.count());
  setup += "; SET lock_timeout = ";
  setup += std::to_string(timeouts.lock.count());
  setup += "; SET idle_in_transaction_session_timeout = ";
  setup += std::to_string(idle_in_transaction_ms);
  if (auto set = made->exec(setup.c_str()); !set) {
    if (why != nullptr) {
      *why = scrub_password(pq().error_message(conn), conninfo);
    }
    return set.error();
  }
  return made;
}

pg_connection::~pg_connection() {
  pq().finish(conn_);
}

void pg_connection::on_notice(void* self, const pg_result* notice) {
  // The server's notices are not for stderr, where libpq would print them in the middle of
  // hush's log lines. A FATAL one comes unasked when the server ends the session (a terminated
  // backend, a shutdown): the end of file may follow a moment later, but the connection is done.
  const char* severity = pq().result_error_field(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity != nullptr &&
      (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0)) {
    static_cast<pg_connection*>(self)->doomed_ = true;
  }
  if (severity != nullptr && std::strcmp(severity, "WARNING") == 0) {
    static_cast<pg_connection*>(self)->warned_ = true;
  }
}

bool pg_connection::broken() {
  if (doomed_ || pq().status(conn_) != CONNECTION_OK) {
    return true;
  }
  // A server that closed an idle connection has sent its farewell, then an end of file: read
  // what is there, without waiting, until the end of file turns the connection bad. An idle
  // connection is sent nothing else worth waiting for.
  for (int reads = 0; reads < max_idle_reads; ++reads) {
    pollfd ready{pq().socket(conn_), POLLIN, 0};
    if (ready.fd < 0 || ::poll(&ready, 1, 0) <= 0) {
      break;
    }
    if (pq().consume_input(conn_) == 0) {
      return true;
    }
  }
  while (PGnotify* note = pq().notifies(conn_)) {
    pq().freemem(note);
  }
  return doomed_ || pq().status(conn_) != CONNECTION_OK ||
         pq().transaction_status(conn_) != PQTRANS_IDLE;
}

result<std::size_t> pg_connection::wait_for_notifications(std::chrono::milliseconds timeout) {
  pollfd ready{pq().socket(conn_), POLLIN, 0};
  if (ready.fd < 0 || pq().status(conn_) != CONNECTION_OK) {
    return make_error_code(errc::storage_unavailable);
  }
  const int waited = ::poll(&ready, 1, static_cast<int>(timeout.count()));
  if (waited > 0 && pq().consume_input(conn_) == 0) {
    return make_error_code(errc::storage_unavailable);
  }
  std::size_t count = 0;
  while (PGnotify* note = pq().notifies(conn_)) {
    pq().freemem(note);
    ++count;
  }
  if (doomed_ || pq().status(conn_) != CONNECTION_OK) {
    return make_error_code(errc::storage_unavailable);
  }
  return count;
}

bool pg_connection::lost() const {
  return doomed_ || pq().status(conn_) != CONNECTION_OK;
}

std::string pg_connection::error_message() const {
  std::string message = pq().error_message(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  return message;
}

bool pg_connection::retryable_failure() const noexcept {
  return last_sqlstate_ == "40001" || last_sqlstate_ == "40P01";
}

result<pg_rows> pg_connection::finish(pg_result* result) {
  const auto status = pq().result_status(result);
  // A commit whose wait for a synchronous standby was cancelled (pg_cancel_backend, a cancel
  // request) succeeds with only a WARNING: "committed locally, but might not have been
  // replicated". Acknowledged, it would be lost with the primary; so any WARNING fails the
  // statement, as a lost connection does (503: it may have committed, try again). hush's own
  // statements draw no other warning.
  const bool warned = std::exchange(warned_, false);
  if ((status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) && warned) {
    last_sqlstate_.clear();
    pq().clear(result);
    return make_error_code(errc::storage_unavailable);
  }
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
    last_sqlstate_.clear();
    return pg_rows(result);
  }
  // No SQLSTATE: libpq's own failure (the connection lost), never a retryable one.
  const char* sqlstate =
      result != nullptr ? pq().result_error_field(result, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = sqlstate != nullptr ? sqlstate : "";
  const auto error = pg_error(last_sqlstate_);
  pq().clear(result);
  return error;
}

result<pg_rows> pg_connection::run(const char* sql, const pg_params& params) {
  warned_ = false;
  auto cached = prepared_.find(sql);
  if (cached == prepared_.end()) {
    std::string name = "hush_";
    name += std::to_string(prepared_.size());
    auto prepared = finish(pq().prepare(conn_, name.c_str(), sql, 0, nullptr));
    if (!prepared) {
      return prepared.error();
    }
    cached = prepared_.emplace(sql, std::move(name)).first;
  }
  const auto count = params.params_.size();
  std::vector<const char*> values(count);
  std::vector<int> lengths(count);
  std::vector<int> formats(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& param = params.params_[i];
    values[i] = param.bytes.c_str();
    lengths[i] = static_cast<int>(param.bytes.size());
    formats[i] = param.binary ? 1 : 0;
  }
  return finish(pq().exec_prepared(conn_, cached->second.c_str(), static_cast<int>(count),
                                   values.data(), lengths.data(), formats.data(), 1));
}

result<void> pg_connection::exec(const char* sql) {
  warned_ = false;
  auto done = finish(pq().exec(conn_, sql));
  if (!done) {
    return done.error();
  }
  return {};
}

}  // namespace hush::store
