#pragma once

// A fresh, empty PostgreSQL database per test, on the cluster that the postgres test fixture
// started (tests/support/pg_cluster; its connection string is in the file that
// HUSH_PG_CONNINFO_FILE names). Without that cluster every test fails: none is skipped.

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <libpq-fe.h>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace hush::testing {

// The cluster's connection string (to its `postgres` database, as its superuser).
inline std::string pg_cluster_conninfo() {
  const char* file = std::getenv("HUSH_PG_CONNINFO_FILE");
  if (file == nullptr) {
    throw std::runtime_error(
        "HUSH_PG_CONNINFO_FILE is not set: run the postgres tests through ctest, whose fixture "
        "(tests/support/pg_cluster) starts the cluster");
  }
  std::ifstream in(file);
  std::string conninfo;
  if (!std::getline(in, conninfo) || conninfo.empty()) {
    throw std::runtime_error(std::string("no PostgreSQL cluster: ") + file +
                             " is missing (did postgres.cluster_start fail?)");
  }
  return conninfo;
}

// A libpq connection for a test's own SQL (as the superuser); throws when it cannot connect.
class pg_admin {
 public:
  explicit pg_admin(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string why = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw std::runtime_error("cannot connect to the test cluster: " + why);
    }
  }
  ~pg_admin() { PQfinish(conn_); }
  pg_admin(const pg_admin&) = delete;
  pg_admin& operator=(const pg_admin&) = delete;

  // Runs `sql`; throws with the server's message when it fails. Returns the first row's first
  // column, or "" when there is none.
  std::string run(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    const auto status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const std::string why = PQerrorMessage(conn_);
      PQclear(result);
      throw std::runtime_error(sql + ": " + why);
    }
    std::string first;
    if (PQntuples(result) > 0 && PQnfields(result) > 0) {
      first = PQgetvalue(result, 0, 0);
    }
    PQclear(result);
    return first;
  }
  PGconn* get() { return conn_; }

 private:
  PGconn* conn_;
};

// A database made for one test and dropped after it, whatever connections remain.
class pg_test_database {
 public:
  pg_test_database() : cluster_(pg_cluster_conninfo()) {
    static std::atomic<int> counter{0};
    name_ = "hush_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    pg_admin(cluster_).run("CREATE DATABASE " + name_);
  }
  ~pg_test_database() {
    try {
      pg_admin(cluster_).run("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): the cluster goes anyway
    }
  }
  pg_test_database(const pg_test_database&) = delete;
  pg_test_database& operator=(const pg_test_database&) = delete;

  const std::string& name() const { return name_; }
  // A connection string to this database.
  std::string conninfo() const { return cluster_ + " dbname=" + name_; }

 private:
  std::string cluster_;
  std::string name_;
};

}  // namespace hush::testing
