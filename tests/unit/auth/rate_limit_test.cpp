#include "auth/rate_limit.hpp"

#include <gtest/gtest.h>

namespace hush::auth {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RateLimiter, BurstThenRateAndKeysAreApart) {
  rate_limiter limiter(2.0, 3.0);
  const rate_limiter::clock::time_point t0{std::chrono::hours(1)};
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.take("a", t0)) << i;
  }
  const auto wait = limiter.take("a", t0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, seconds(1));
  EXPECT_FALSE(limiter.take("b", t0));
  // Two tokens a second: after half a second one more is there, and only one.
  EXPECT_FALSE(limiter.take("a", t0 + milliseconds(500)));
  EXPECT_TRUE(limiter.take("a", t0 + milliseconds(500)));
}

TEST(RateLimiter, ZeroRateIsNoLimit) {
  rate_limiter limiter(0.0, 1.0);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(limiter.take("a", rate_limiter::clock::time_point{}));
  }
}

TEST(RateLimiter, MemoryIsBounded) {
  rate_limiter limiter(1.0, 2.0, 100);
  const rate_limiter::clock::time_point t0{std::chrono::hours(1)};
  for (int i = 0; i < 10'000; ++i) {
    limiter.take("key" + std::to_string(i), t0);
    limiter.take("key" + std::to_string(i), t0);
  }
  // A key forgotten under pressure starts with a full bucket: never stricter than the rate.
  EXPECT_FALSE(limiter.take("fresh", t0));
}

}  // namespace
}  // namespace hush::auth
