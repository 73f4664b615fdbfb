#include "crypto/password.hpp"

#include <gtest/gtest.h>

namespace hush::crypto {
namespace {

const argon2_params cheap{argon2_min_iterations, argon2_min_memory_kib};

TEST(PasswordHasher, HashIsArgon2idPhcWithParameters) {
  const password_hasher hasher(cheap);
  const auto phc = hasher.hash("correct horse battery staple");
  ASSERT_TRUE(phc);
  EXPECT_EQ(
      phc->rfind("$argon2id$v=19$m=" + std::to_string(argon2_min_memory_kib) + ",t=1,p=1$", 0), 0U)
      << *phc;
}

TEST(PasswordHasher, RefusesToPrepareWhenTheDummyHashCannotBeMade) {
  // More memory than libsodium accepts: no hash can be made. Serving on with an empty dummy hash
  // would make unknown names answer faster than wrong passwords.
  const password_hasher impossible({2, std::uint64_t{1} << 40});
  EXPECT_THROW(impossible.prepare(), std::runtime_error);
  EXPECT_FALSE(impossible.verify_nobody("anything"));
}

TEST(PasswordHasher, OwaspFloors) {
  EXPECT_EQ(argon2_floor_memory_kib(1), 47104U);
  EXPECT_EQ(argon2_floor_memory_kib(2), 19456U);
  EXPECT_EQ(argon2_floor_memory_kib(3), 12288U);
  EXPECT_EQ(argon2_floor_memory_kib(4), 9216U);
  EXPECT_EQ(argon2_floor_memory_kib(5), 7168U);
  EXPECT_EQ(argon2_floor_memory_kib(16), 7168U);
  EXPECT_GE(argon2_params{}.memory_kib, argon2_floor_memory_kib(argon2_params{}.iterations));
}

TEST(PasswordHasher, VerifiesRightAndRefusesWrong) {
  const password_hasher hasher(cheap);
  const auto phc = hasher.hash("correct horse battery staple").value();
  EXPECT_TRUE(hasher.verify(phc, "correct horse battery staple"));
  EXPECT_FALSE(hasher.verify(phc, "correct horse battery stapler"));
  EXPECT_FALSE(hasher.verify(phc, ""));
}

TEST(PasswordHasher, SaltsEveryHash) {
  const password_hasher hasher(cheap);
  EXPECT_NE(hasher.hash("same").value(), hasher.hash("same").value());
}

TEST(PasswordHasher, MalformedHashNeverVerifies) {
  const password_hasher hasher(cheap);
  EXPECT_FALSE(hasher.verify("", "x"));
  EXPECT_FALSE(hasher.verify("$argon2id$garbage", "x"));
  EXPECT_FALSE(hasher.verify(std::string(1000, 'a'), "x"));
}

TEST(PasswordHasher, NobodyNeverVerifies) {
  const password_hasher hasher(cheap);
  EXPECT_FALSE(hasher.verify_nobody("anything"));
  EXPECT_FALSE(hasher.verify_nobody(""));
}

TEST(PasswordHasher, NeedsRehashWhenParametersChange) {
  const password_hasher old_cost(cheap);
  const password_hasher new_cost({2, argon2_min_memory_kib});
  const auto phc = old_cost.hash("pw").value();
  EXPECT_FALSE(old_cost.needs_rehash(phc));
  EXPECT_TRUE(new_cost.needs_rehash(phc));
  EXPECT_TRUE(new_cost.verify(phc, "pw"));  // old hashes keep working until rehashed
  EXPECT_TRUE(old_cost.needs_rehash("$argon2i$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaA"));
}

}  // namespace
}  // namespace hush::crypto
