// The in-memory fakes (tests/support/memory_store.hpp) against every store contract suite, so
// that the unit tests that use them stand on the same behaviour as the real store.
#include "support/memory_store.hpp"
#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {
namespace {

std::shared_ptr<store> make_memory_store() {
  return std::make_shared<testing::memory_store>();
}

}  // namespace

HUSH_INSTANTIATE_STORE_CONTRACTS(Memory, (backend{"memory", make_memory_store}));

}  // namespace hush::store::contract
