#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/result.hpp"

namespace hush::store {

// A key's failed password checks as the store counts them, on the store's own clock (so that the
// servers sharing it need not agree on the time).
struct guess_count {
  std::uint32_t failures = 0;      // 0: none counted
  std::int64_t quiet_seconds = 0;  // since the last one (never negative)
};

// The guessing throttle's counts (auth::throttle), kept where every server of a club sees them
// when several share one store. Keys are the throttle's, opaque here; they come in pairs (a
// member at an address, and the address), each answered in the order given. Thread safe; blocks
// on the store (never call it from an I/O thread). Errors as every store interface's.
class guess_store {
 public:
  guess_store() = default;
  guess_store(const guess_store&) = delete;
  guess_store& operator=(const guess_store&) = delete;
  virtual ~guess_store() = default;

  virtual result<std::array<guess_count, 2>> guess_counts(std::string_view first,
                                                          std::string_view second) = 0;
  // One more failure for each key, in one step (a key quiet for longer than `afresh_seconds`
  // starts again at one), and the counts after it, each with the time between the failure before
  // it and it as quiet_seconds. Keys quiet for longer than that are no longer needed, and are
  // deleted now and then.
  virtual result<std::array<guess_count, 2>> add_guess_failures(std::string_view first,
                                                                std::string_view second,
                                                                std::int64_t afresh_seconds) = 0;
  // A failure add_guess_failures counted proved not to be one: `first`'s count is forgotten, and
  // `second`'s loses one, in one step.
  virtual result<void> forgive_guess(std::string_view first, std::string_view second) = 0;
};

}  // namespace hush::store
