#include "core/log.hpp"

#include <gtest/gtest.h>

namespace hush::log {
namespace {

using namespace std::chrono_literals;

TEST(RateLimitedLog, OneLineAPerIntervalThenTheCountHeldBack) {
  rate_limited limited(1s);
  const rate_limited::clock::time_point t0{};
  EXPECT_EQ(limited.admit("accept failed", t0), "accept failed");
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(limited.admit("accept failed", t0 + 999ms));
  }
  EXPECT_EQ(limited.admit("accept failed", t0 + 1s), "accept failed (1000 more)");
  EXPECT_FALSE(limited.admit("accept failed", t0 + 1500ms));
  EXPECT_EQ(limited.admit("accept failed", t0 + 5s), "accept failed (1 more)");
  EXPECT_EQ(limited.admit("other", t0 + 7s), "other");
}

}  // namespace
}  // namespace hush::log
