#include "core/secret.hpp"

#include <vector>

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

// What it frees is zeroed first (not observable without reading freed memory); what it holds is
// an ordinary container's.
TEST(ZeroingAllocator, ContainersThatGrowKeepTheirContents) {
  std::vector<char, zeroing_allocator<char>> bytes;
  for (int i = 0; i < 10'000; ++i) {
    bytes.push_back(static_cast<char>(i % 127));
  }
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_EQ(bytes[static_cast<std::size_t>(i)], static_cast<char>(i % 127));
  }
  static_assert(zeroing_allocator<char>() == zeroing_allocator<int>());
}

TEST(SecretString, MoveKeepsValue) {
  secret_string a(std::string("password123"));
  secret_string b = std::move(a);
  EXPECT_EQ(b.view(), "password123");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace hush
