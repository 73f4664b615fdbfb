#include "core/locked.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace hush {
namespace {

// The VmFlags line of the /proc/self/smaps mapping that holds `address`; empty if none does.
std::string vm_flags_of(const void* address) {
  const auto where = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t start = 0;
    std::uintptr_t end = 0;
    char dash = 0;
    std::istringstream head(line);
    // A mapping's header is "start-end perms ..."; its VmFlags line comes last.
    if (head >> std::hex >> start >> dash >> end && dash == '-') {
      inside = where >= start && where < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return {};
}

bool has_flag(const std::string& flags, const std::string& flag) {
  std::istringstream words(flags);
  std::string word;
  while (words >> word) {
    if (word == flag) {
      return true;
    }
  }
  return false;
}

TEST(LockedBytes, KeptOutOfCoreDumpsAndLockedWhenAllowed) {
  locked_bytes key(32);
  ASSERT_EQ(key.size(), 32U);
  const auto flags = vm_flags_of(key.data());
  ASSERT_FALSE(flags.empty()) << "no mapping holds the allocation";
  EXPECT_TRUE(has_flag(flags, "dd")) << flags;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers' runtimes replace mlock with a no-op that reports success (their shadow
  // memory cannot be locked), so "locked" cannot be checked against the mapping in those builds.
#else
  if (key.locked()) {
    EXPECT_TRUE(has_flag(flags, "lo")) << flags;
  }
#endif
}

TEST(LockedBytes, OrdinaryHeapIsNotExcluded) {
  // Control: the check above can fail, since ordinary memory carries no "dd".
  auto heap = std::make_unique<std::uint8_t[]>(32);
  EXPECT_FALSE(has_flag(vm_flags_of(heap.get()), "dd"));
}

TEST(LockedBytes, StartsZeroedAndCopiesItsSource) {
  locked_bytes zero(16);
  for (std::size_t i = 0; i < zero.size(); ++i) {
    EXPECT_EQ(zero.data()[i], 0);
  }
  const std::uint8_t source[] = {1, 2, 3, 4, 5};
  const auto copy = locked_bytes::copy_of(source);
  ASSERT_EQ(copy.size(), 5U);
  EXPECT_TRUE(std::equal(copy.span().begin(), copy.span().end(), std::begin(source)));
}

TEST(LockedBytes, MoveTransfersOwnership) {
  const std::uint8_t source[] = {9, 8, 7};
  auto a = locked_bytes::copy_of(source);
  const auto* where = a.data();
  locked_bytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data(), where);
  locked_bytes c(4);
  c = std::move(b);
  EXPECT_EQ(c.size(), 3U);
  EXPECT_EQ(c.data()[0], 9);
}

TEST(LockedBytes, EmptyNeedsNoAllocation) {
  locked_bytes none(0);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.data(), nullptr);
  EXPECT_TRUE(locked_bytes::copy_of({}).empty());
}

}  // namespace
}  // namespace hush
