#include "crypto/password.hpp"

#include <gtest/gtest.h>

namespace hush::crypto {
namespace {

const argon2_params cheap{argon2_min_iterations, argon2_min_memory_kib};

TEST(PasswordHasher, HashIsArgon2idPhcWithParameters) {
  const password_hasher hasher(cheap);
  const auto phc = hasher.hash("correct horse battery staple");
  ASSERT_TRUE(phc);
  EXPECT_EQ(phc->rfind("$argon2id$v=19$m=8192,t=1,p=1$", 0), 0U) << *phc;
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
