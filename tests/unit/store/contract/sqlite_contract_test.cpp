// The SQLite store against every store contract suite: each test gets a fresh database in a
// temporary directory of its own.
#include "store/sqlite/sqlite_store.hpp"
#include "support/temp_dir.hpp"
#include "support/test_club.hpp"
#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {
namespace {

std::shared_ptr<store> make_sqlite_store() {
  struct owned {
    testing::temp_dir dir;
    sqlite_store db{testing::make_database(dir)};
  };
  auto made = std::make_shared<owned>();
  return {made, &made->db};
}

}  // namespace

HUSH_INSTANTIATE_STORE_CONTRACTS(Sqlite, (backend{"sqlite", make_sqlite_store}));

}  // namespace hush::store::contract
