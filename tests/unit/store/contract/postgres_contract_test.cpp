// The PostgreSQL store against every store contract suite: each test gets a fresh database of its
// own on the cluster the postgres fixture started (tests/support/pg_cluster).
#include "store/postgres/postgres_store.hpp"
#include "support/pg_test_database.hpp"
#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {
namespace {

std::shared_ptr<store> make_postgres_store() {
  struct owned {
    testing::pg_test_database database;
    postgres_store db{database.conninfo()};
  };
  auto made = std::make_shared<owned>();
  return {made, &made->db};
}

}  // namespace

HUSH_INSTANTIATE_STORE_CONTRACTS(Postgres, (backend{"postgres", make_postgres_store}));

}  // namespace hush::store::contract
