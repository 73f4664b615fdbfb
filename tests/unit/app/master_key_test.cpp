// app/master_key.hpp: reading a passphrase line (HUSH_UNSEAL_FD).
#include "app/master_key.hpp"

#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

// Counts the heap blocks of at least max_passphrase_bytes made while `counting` is set: a
// passphrase buffer that grows makes a second one, and leaves the first, with the passphrase in
// it, in freed memory. The replacements below allocate with malloc and free with free, which gcc
// at -O1 and above cannot see through once it inlines them (-Wmismatched-new-delete).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<bool> counting{false};
std::atomic<int> large_blocks{0};
}  // namespace

void* operator new(std::size_t size) {
  if (counting.load() && size >= hush::app::max_passphrase_bytes) {
    ++large_blocks;
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
// The nothrow form too: a sanitizer's own would pair its allocation with the free() below.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (counting.load() && size >= hush::app::max_passphrase_bytes) {
    ++large_blocks;
  }
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace hush::app {
namespace {

// Runs passphrase_from_environment on a pipe holding `text`.
passphrase_ptr read_from_pipe(const std::string& text) {
  int fds[2];
  if (::pipe(fds) != 0) {
    throw std::runtime_error("pipe");
  }
  // Fits the pipe's buffer (64 KiB): the write never blocks.
  EXPECT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  ::setenv("HUSH_UNSEAL_FD", std::to_string(fds[0]).c_str(), 1);
  struct cleanup {
    int fd;
    ~cleanup() {
      ::close(fd);
      ::unsetenv("HUSH_UNSEAL_FD");
    }
  } done{fds[0]};
  return passphrase_from_environment();
}

TEST(PassphraseLine, ReadsOneLineWithoutItsEnding) {
  EXPECT_EQ(read_from_pipe("correct horse\r\nsecond line\n")->view(), "correct horse");
  const std::string longest(max_passphrase_bytes, 'x');
  EXPECT_EQ(read_from_pipe(longest + "\n")->view(), longest);
  EXPECT_THROW(read_from_pipe("short\n"), std::runtime_error);
}

TEST(PassphraseLine, ATooLongLineIsRefusedWithoutGrowingABuffer) {
  const std::string too_long = std::string(max_passphrase_bytes + 100, 'y') + "\n";
  large_blocks = 0;
  counting = true;
  bool refused = false;
  try {
    read_from_pipe(too_long);
  } catch (const std::runtime_error&) {
    refused = true;
  }
  counting = false;
  EXPECT_TRUE(refused);
  // One fixed buffer: a reserve and then a reallocation past it would be two.
  EXPECT_EQ(large_blocks.load(), 1);
}

}  // namespace
}  // namespace hush::app
