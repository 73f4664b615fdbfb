#include "auth/authenticator.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "crypto/encoding.hpp"
#include "support/test_club.hpp"

namespace hush::auth {
namespace {

std::string basic(std::string_view user_colon_password) {
  return "Basic " + crypto::base64_encode(
                        std::span(reinterpret_cast<const std::uint8_t*>(user_colon_password.data()),
                                  user_colon_password.size()));
}

TEST(ParseBasic, ValidForms) {
  const auto c = parse_basic(basic("alice:pass:with:colons"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password.view(), "pass:with:colons");
  EXPECT_TRUE(parse_basic("bAsIc " + basic("a:b").substr(6)));
  EXPECT_EQ(parse_basic(basic("a:"))->password.view(), "");
}

TEST(ParseBasic, Malformed) {
  EXPECT_FALSE(parse_basic(""));
  EXPECT_FALSE(parse_basic("Basic"));
  EXPECT_FALSE(parse_basic("Basic "));
  EXPECT_FALSE(parse_basic("Bearer abc"));
  EXPECT_FALSE(parse_basic("Basic !!!"));
  EXPECT_FALSE(parse_basic(basic("no-colon")));
  EXPECT_FALSE(parse_basic(basic(":password-without-user")));
  EXPECT_FALSE(parse_basic("Basic " + std::string(5000, 'A')));
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override { club.add("alice", store::role::poster, "alice's long password"); }
  testing::test_club club;
};

TEST_F(AuthenticatorTest, RightPasswordGivesTheMember) {
  const auto m = club.auth.authenticate_basic(basic("alice:alice's long password"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name(), "alice");
  EXPECT_EQ(m->role(), store::role::poster);
}

TEST_F(AuthenticatorTest, EveryFailureIsTheSameUnauthorized) {
  for (const auto& header : {basic("alice:wrong password"), basic("mallory:alice's long password"),
                             std::string("Basic ???"), std::string("")}) {
    const auto m = club.auth.authenticate_basic(header);
    ASSERT_FALSE(m) << header;
    EXPECT_EQ(m.error(), errc::unauthorized) << header;
  }
}

TEST_F(AuthenticatorTest, RemovalAndPasswordChangeApplyAtOnce) {
  ASSERT_TRUE(club.domain.set_password("alice", "a brand new password"));
  EXPECT_FALSE(club.auth.authenticate_password("alice", "alice's long password"));
  EXPECT_TRUE(club.auth.authenticate_password("alice", "a brand new password"));
  ASSERT_TRUE(club.store.remove_member("alice"));
  EXPECT_FALSE(club.auth.authenticate_password("alice", "a brand new password"));
}

TEST_F(AuthenticatorTest, RehashesOnLoginWhenCostChanges) {
  const crypto::password_hasher stronger({2, crypto::argon2_min_memory_kib});
  authenticator upgraded(club.store, stronger);
  const auto before = club.store.find_member("alice").value().password_hash;
  ASSERT_TRUE(upgraded.authenticate_password("alice", "alice's long password"));
  const auto after = club.store.find_member("alice").value().password_hash;
  EXPECT_NE(before, after);
  EXPECT_NE(after.find("t=2"), std::string::npos) << after;
  EXPECT_FALSE(stronger.needs_rehash(after));
  EXPECT_TRUE(upgraded.authenticate_password("alice", "alice's long password"));
}

}  // namespace
}  // namespace hush::auth
