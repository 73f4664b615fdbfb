#include "core/secret.hpp"

#include <gtest/gtest.h>

namespace hush {
namespace {

TEST(ConstantTimeEqual, EqualAndDifferent) {
  EXPECT_TRUE(constant_time_equal(std::string_view("same"), std::string_view("same")));
  EXPECT_FALSE(constant_time_equal(std::string_view("same"), std::string_view("sane")));
  EXPECT_FALSE(constant_time_equal(std::string_view("short"), std::string_view("shorter")));
  EXPECT_TRUE(constant_time_equal(std::string_view(), std::string_view()));
}

TEST(SecretBytes, ClearEmptiesAndCopiesAreIndependent) {
  auto a = secret_bytes::from_string("hunter2");
  secret_bytes b = a;
  a.clear();
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.view(), "hunter2");
}

TEST(SecretBytes, MoveLeavesSourceEmpty) {
  auto a = secret_bytes::from_string("key material");
  secret_bytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(b.view(), "key material");
}

TEST(SecureZero, ZeroesEveryByte) {
  char buffer[] = "secret";
  secure_zero(buffer, sizeof buffer);
  for (const char c : buffer) {
    EXPECT_EQ(c, '\0');
  }
}

TEST(SecretString, MoveKeepsValue) {
  secret_string a(std::string("password123"));
  secret_string b = std::move(a);
  EXPECT_EQ(b.view(), "password123");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace hush
