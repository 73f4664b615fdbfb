#include "core/files.hpp"

#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <type_traits>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace hush::files {
namespace {

namespace fs = std::filesystem;
using testing::temp_dir;

constexpr mode_t private_file = 0600;

// The reader hands key bytes over only in a zeroed buffer.
static_assert(std::is_same_v<decltype(read_secret(std::declval<const fs::path&>())), secret_bytes>);

// Expects `run` to throw a std::runtime_error whose one-line message contains `part`.
template <class Run>
void expect_refusal(Run&& run, const std::string& part) {
  try {
    run();
    ADD_FAILURE() << "expected a refusal mentioning \"" << part << "\"";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(part), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(ReadSecret, ReadsTheContentExactly) {
  temp_dir dir;
  const std::string bytes("key\0with\xffnul and high bytes\n", 28);
  write_new(dir.path() / "k", bytes, private_file);
  EXPECT_EQ(read_secret(dir.path() / "k").view(), bytes);
  write_new(dir.path() / "empty", "", private_file);
  EXPECT_TRUE(read_secret(dir.path() / "empty").empty());
}

TEST(ReadSecret, RefusesASymlinkEvenToAPrivateCopy) {
  temp_dir dir;
  write_new(dir.path() / "copy", "secret", private_file);
  fs::create_symlink(dir.path() / "copy", dir.path() / "link");
  expect_refusal([&] { read_secret(dir.path() / "link"); }, "symbolic link");
  EXPECT_EQ(read_secret(dir.path() / "copy").view(), "secret");
}

TEST(ReadSecret, RefusesOpenPermissions) {
  temp_dir dir;
  write_new(dir.path() / "open", "secret", 0644);
  expect_refusal([&] { read_secret(dir.path() / "open"); }, "permissions 0644");
  write_new(dir.path() / "group", "secret", 0640);
  expect_refusal([&] { read_secret(dir.path() / "group"); }, "permissions 0640");
}

TEST(ReadSecret, RefusesWhatIsNotARegularFile) {
  temp_dir dir;
  fs::create_directory(dir.path() / "d");
  ::chmod((dir.path() / "d").c_str(), 0700);
  expect_refusal([&] { read_secret(dir.path() / "d"); }, "not a regular file");
  // A FIFO in a key's place neither hangs the reader nor passes for a key.
  ASSERT_EQ(::mkfifo((dir.path() / "fifo").c_str(), private_file), 0);
  expect_refusal([&] { read_secret(dir.path() / "fifo"); }, "not a regular file");
  expect_refusal([&] { read_secret(dir.path() / "absent"); }, "cannot open");
}

TEST(ReadSecret, RefusesAnOversizedFile) {
  temp_dir dir;
  write_new(dir.path() / "big", std::string(max_private_file_size + 1, 'k'), private_file);
  expect_refusal([&] { read_secret(dir.path() / "big"); }, "too large");
}

TEST(RequirePrivate, RefusesALinkedFileButFollowsALinkedDirectory) {
  temp_dir dir;
  write_new(dir.path() / "copy", "secret", private_file);
  fs::create_symlink(dir.path() / "copy", dir.path() / "link");
  expect_refusal([&] { require_private(dir.path() / "link"); }, "symbolic link");
  EXPECT_NO_THROW(require_private(dir.path() / "copy"));
  fs::create_directory(dir.path() / "club");
  ::chmod((dir.path() / "club").c_str(), 0700);
  fs::create_directory_symlink(dir.path() / "club", dir.path() / "club-link");
  EXPECT_NO_THROW(require_private(dir.path() / "club-link"));
  ::chmod((dir.path() / "club").c_str(), 0755);
  expect_refusal([&] { require_private(dir.path() / "club-link"); }, "permissions 0755");
}

}  // namespace
}  // namespace hush::files
