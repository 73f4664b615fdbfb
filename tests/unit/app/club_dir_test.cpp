// app/club_dir.hpp: the serving keyring's master-key reloader.
#include "app/club_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "support/test_club.hpp"

namespace hush::app {
namespace {

using namespace std::chrono_literals;

struct reloader_fixture {
  testing::temp_dir dir;
  std::filesystem::path db_path = testing::make_database(dir);
  store::sqlite_store db{db_path};
  std::filesystem::path key_file = dir.path() / "master.key";
  locked_bytes club_key = testing::random_master_key();
  std::chrono::steady_clock::time_point clock{};

  reloader_fixture() {
    const auto check = club::key_check(club_key.span());
    if (!db.set_club_meta_once(club::key_check_name, check)) {
      throw std::runtime_error("cannot record the key check");
    }
  }
  club::keyring::master_key_source source() {
    return master_key_reloader(key_file, nullptr, db, [this] { return clock; });
  }
  // Rewrites the key file in place (same inode and size) and sets its modification time.
  void rewrite(std::span<const std::uint8_t> key, timespec mtime) {
    const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, key.data(), key.size(), 0), static_cast<ssize_t>(key.size()));
    const timespec times[2] = {mtime, mtime};
    ASSERT_EQ(::futimens(fd, times), 0);
    ::close(fd);
  }
};

TEST(MasterKeyReloader, AFailedAttemptIsNotRepeatedWhileTheFilesAreUnchanged) {
  reloader_fixture f;
  const auto stranger = testing::random_master_key();
  f.rewrite(stranger.span(), {1'000, 0});
  auto reload = f.source();
  EXPECT_EQ(reload().error(), errc::crypto_failure);
  // The club's key now, but inode, size and modification time as before: not read again, however
  // long after (each read may be an unsealing).
  f.rewrite(f.club_key.span(), {1'000, 0});
  f.clock += 1h;
  EXPECT_EQ(reload().error(), errc::crypto_failure);
  // Changed: read, and it passes the check.
  f.rewrite(f.club_key.span(), {2'000, 0});
  auto key = reload();
  ASSERT_TRUE(key);
  EXPECT_TRUE(constant_time_equal(key->span(), f.club_key.span()));
}

TEST(MasterKeyReloader, BacksOffAfterAFailure) {
  reloader_fixture f;
  const auto stranger = testing::random_master_key();
  f.rewrite(stranger.span(), {1'000, 0});
  auto reload = f.source();
  EXPECT_EQ(reload().error(), errc::crypto_failure);
  f.rewrite(f.club_key.span(), {2'000, 0});
  f.clock += reload_backoff_min / 2;
  EXPECT_EQ(reload().error(), errc::crypto_failure);  // changed, but too soon
  f.clock += reload_backoff_min;
  EXPECT_TRUE(reload());
}

}  // namespace
}  // namespace hush::app
