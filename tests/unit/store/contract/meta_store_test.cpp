// The contract of store/meta_store.hpp, for every backend (store_contract.hpp).
#include "store/meta_store.hpp"

#include <thread>

#include "core/error.hpp"
#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {

TEST_P(MetaStoreContract, TheFirstValueStays) {
  EXPECT_EQ(db.club_meta("k").error(), errc::not_found);
  ASSERT_TRUE(db.set_club_meta_once("k", std::vector<std::uint8_t>{1, 2}));
  ASSERT_TRUE(db.set_club_meta_once("k", std::vector<std::uint8_t>{3}));
  EXPECT_EQ(db.club_meta("k").value(), (std::vector<std::uint8_t>{1, 2}));
  ASSERT_TRUE(db.set_club_meta_once("other", std::vector<std::uint8_t>{4}));
  EXPECT_EQ(db.club_meta("other").value(), std::vector<std::uint8_t>{4});
  EXPECT_EQ(db.club_meta("k").value(), (std::vector<std::uint8_t>{1, 2}));
}

// Two initialisations at once agree on one value, whichever came first.
TEST_P(MetaStoreContract, ConcurrentSettersAgreeOnOneValue) {
  constexpr int threads = 4;
  std::vector<std::vector<std::uint8_t>> seen(threads);
  {
    std::vector<std::jthread> setters;
    for (int t = 0; t < threads; ++t) {
      setters.emplace_back([&, t] {
        const std::vector<std::uint8_t> mine{static_cast<std::uint8_t>(t)};
        if (db.set_club_meta_once("k", mine)) {
          if (auto value = db.club_meta("k")) {
            seen[t] = std::move(*value);
          }
        }
      });
    }
  }
  const auto kept = db.club_meta("k").value();
  ASSERT_EQ(kept.size(), 1U);
  for (const auto& value : seen) {
    EXPECT_EQ(value, kept);
  }
}

}  // namespace hush::store::contract
