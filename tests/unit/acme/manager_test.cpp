#include "acme/manager.hpp"

#include <ctime>
#include <filesystem>

#include <gtest/gtest.h>

#include "core/files.hpp"
#include "pki/pki.hpp"
#include "support/temp_dir.hpp"

// The certificate and its key are one pair in two files: install_pair and complete_pending_pair
// leave a matching, usable pair after a crash at any point between their steps (each crash is
// played by leaving the files as that point would).

namespace hush::acme {
namespace {

namespace fs = std::filesystem;

class AcmePair : public ::testing::Test {
 protected:
  AcmePair() {
    fs::create_directories(paths.dir);
    install_pair(paths, old_pair.key_pem.view(), old_pair.cert_pem);
  }
  bool usable() const {
    return has_usable_certificate(paths, {"club.example.org"}, std::time(nullptr));
  }
  std::string served() const { return files::read_text(paths.certificate()); }

  testing::temp_dir dir;
  acme_paths paths{dir.path() / "acme"};
  pki::key_and_cert ca = pki::make_ca("pair test CA");
  pki::key_and_cert old_pair = pki::issue_server(ca, {"club.example.org"});
  pki::key_and_cert new_pair = pki::issue_server(ca, {"club.example.org"});
};

TEST_F(AcmePair, InstallReplacesBothAndLeavesNothingBeside) {
  ASSERT_TRUE(usable());
  install_pair(paths, new_pair.key_pem.view(), new_pair.cert_pem);
  EXPECT_TRUE(usable());
  EXPECT_EQ(served(), new_pair.cert_pem);
  EXPECT_FALSE(fs::exists(paths.pending_key()));
  EXPECT_FALSE(fs::exists(paths.pending_certificate()));
  for (const auto& file : {paths.key(), paths.certificate()}) {
    EXPECT_EQ(fs::status(file).permissions() & (fs::perms::group_all | fs::perms::others_all),
              fs::perms::none)
        << file;
  }
}

TEST_F(AcmePair, ACrashBetweenTheRenamesIsFinishedAtStart) {
  // The new key in place, the new certificate still beside it.
  fs::remove(paths.key());
  files::write_new(paths.key(), new_pair.key_pem.view(), 0600);
  files::write_new(paths.pending_certificate(), new_pair.cert_pem, 0600);
  ASSERT_FALSE(usable()) << "the crash leaves a mismatched pair";
  complete_pending_pair(paths);
  EXPECT_TRUE(usable());
  EXPECT_EQ(served(), new_pair.cert_pem);
  EXPECT_FALSE(fs::exists(paths.pending_certificate()));
}

TEST_F(AcmePair, ACrashBeforeTheKeysRenameKeepsTheOldPair) {
  files::write_new(paths.pending_key(), new_pair.key_pem.view(), 0600);
  files::write_new(paths.pending_certificate(), new_pair.cert_pem, 0600);
  complete_pending_pair(paths);
  EXPECT_TRUE(usable());
  EXPECT_EQ(served(), old_pair.cert_pem);
  EXPECT_FALSE(fs::exists(paths.pending_key()));
  EXPECT_FALSE(fs::exists(paths.pending_certificate()));
}

TEST_F(AcmePair, AWaitingCertificateForAnotherKeyIsNotInstalled) {
  files::write_new(paths.pending_certificate(), new_pair.cert_pem, 0600);
  complete_pending_pair(paths);
  EXPECT_TRUE(usable());
  EXPECT_EQ(served(), old_pair.cert_pem);
  EXPECT_FALSE(fs::exists(paths.pending_certificate()));
}

}  // namespace
}  // namespace hush::acme
