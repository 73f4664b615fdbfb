#include "crypto/password.hpp"

#include <array>
#include <string>

#include <gtest/gtest.h>
#include <sodium.h>

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

TEST(PasswordHasher, Argon2idPhcIsTheStringLibsodiumVerifies) {
  // The hash bytes Argon2id gives for this password and salt, written by argon2id_phc: libsodium
  // must read the string and run the same computation, or the dummy hash would not cost a hash.
  const password_hasher hasher(cheap);
  ASSERT_GE(sodium_init(), 0);
  std::array<std::uint8_t, crypto_pwhash_SALTBYTES> salt{};
  salt.fill(7);
  std::array<std::uint8_t, argon2id_phc_hash_bytes> digest{};
  const std::string password = "correct horse battery staple";
  ASSERT_EQ(
      crypto_pwhash(digest.data(), digest.size(), password.data(), password.size(), salt.data(),
                    cheap.iterations, cheap.memory_kib * 1024U, crypto_pwhash_ALG_ARGON2ID13),
      0);
  const auto phc = argon2id_phc(cheap, salt, digest);
  EXPECT_TRUE(hasher.verify(phc, password)) << phc;
  EXPECT_FALSE(hasher.verify(phc, password + "!"));
  EXPECT_FALSE(hasher.needs_rehash(phc));
}

TEST(PasswordHasher, TheDummyHashHasTheCurrentParametersAndAFreshSalt) {
  const password_hasher hasher(cheap);
  hasher.prepare();
  const password_hasher other(cheap);
  other.prepare();
  const auto real = hasher.hash("x").value();
  const auto parameters = real.substr(0, real.rfind('$', real.rfind('$') - 1) + 1);
  EXPECT_FALSE(hasher.verify_nobody("x"));
  EXPECT_FALSE(other.verify_nobody("x"));
  EXPECT_EQ(hasher.dummy_hash().rfind(parameters, 0), 0U) << parameters;
  EXPECT_EQ(hasher.dummy_hash().size(), real.size());
  EXPECT_NE(hasher.dummy_hash(), other.dummy_hash());
  EXPECT_FALSE(hasher.needs_rehash(hasher.dummy_hash()));
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
