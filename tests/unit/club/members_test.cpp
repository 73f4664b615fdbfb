// The club's use cases about members and their credentials, as every door gets them.
#include <gtest/gtest.h>

#include "club/club.hpp"
#include "club/credentials.hpp"
#include "core/error.hpp"
#include "support/test_club.hpp"

namespace hush::club {
namespace {

using store::role;

TEST(RemoveMember, RevokesTheirCertificatesAndRepublishes) {
  testing::test_club c;
  c.add("admin", role::admin, "the admin's long password");
  c.add("bob", role::reader, "bob's long password");
  const auto issued = c.domain.issue_client_cert("bob", 30);
  ASSERT_TRUE(issued);
  EXPECT_EQ(c.ca.issued, 1);
  ASSERT_TRUE(c.domain.remove_member("bob", "admin"));
  EXPECT_EQ(c.ca.published, 1);
  const auto status = c.store.client_cert_status(issued->serial);
  ASSERT_TRUE(status);
  EXPECT_NE(status->revoked_at, 0);
  EXPECT_EQ(c.domain.find_member("bob").error(), errc::not_found);
}

TEST(RemoveMember, TheLastAdminStaysWhoeverAsks) {
  testing::test_club c;
  c.add("root", role::admin, "the admin's long password");
  c.add("deputy", role::admin, "the deputy's long password");
  // Nobody removes themselves, even with another admin left.
  EXPECT_EQ(c.domain.remove_member("root", "root").error(), errc::conflict);
  ASSERT_TRUE(c.domain.remove_member("deputy", "root"));
  // The CLI asks as nobody in particular: the last admin still stays.
  EXPECT_EQ(c.domain.remove_member("root").error(), errc::conflict);
  EXPECT_TRUE(c.domain.find_member("root"));
  EXPECT_EQ(c.domain.remove_member("nobody").error(), errc::not_found);
  EXPECT_EQ(c.ca.published, 1);
}

TEST(RemoveMember, StandsWhenTheListCannotBeRepublished) {
  testing::test_club c;
  c.add("root", role::admin, "the admin's long password");
  c.add("bob", role::reader, "bob's long password");
  c.ca.fail = true;
  EXPECT_EQ(c.domain.remove_member("bob").error(), errc::not_published);
  // The removal itself is done: not_published only says what is still owed.
  EXPECT_EQ(c.domain.find_member("bob").error(), errc::not_found);
}

TEST(SetRole, ChangesTheRoleAndSaysWhatItWas) {
  testing::test_club c;
  c.add("root", role::admin, "the admin's long password");
  c.add("bob", role::reader, "bob's long password");
  EXPECT_EQ(c.domain.set_role("bob", role::poster).value(), role::reader);
  EXPECT_EQ(c.domain.find_member("bob").value().member_role, role::poster);
  EXPECT_EQ(c.domain.set_role("bob", role::admin).value(), role::poster);
  EXPECT_EQ(c.domain.find_member("bob").value().member_role, role::admin);
  EXPECT_EQ(c.domain.set_role("bob", role::admin).value(), role::admin);
  EXPECT_EQ(c.domain.set_role("ghost", role::admin).error(), errc::not_found);
  // Nothing is published: a role is no certificate.
  EXPECT_EQ(c.ca.published, 0);
}

TEST(SetRole, TheLastAdminIsNeverDemoted) {
  testing::test_club c;
  c.add("root", role::admin, "the admin's long password");
  c.add("bob", role::reader, "bob's long password");
  EXPECT_EQ(c.domain.set_role("root", role::reader).error(), errc::conflict);
  EXPECT_EQ(c.domain.set_role("root", role::poster).error(), errc::conflict);
  EXPECT_EQ(c.domain.find_member("root").value().member_role, role::admin);
  // Once another admin exists, the first may step down; then the other is the last.
  ASSERT_TRUE(c.domain.set_role("bob", role::admin));
  EXPECT_EQ(c.domain.set_role("root", role::reader).value(), role::admin);
  EXPECT_EQ(c.domain.set_role("bob", role::poster).error(), errc::conflict);
  EXPECT_EQ(c.domain.remove_member("bob").error(), errc::conflict);
}

TEST(SetRole, ADemotedMembersCredentialsCarryTheNewRoleAtOnce) {
  testing::test_club c;
  c.add("root", role::admin, "the admin's long password");
  c.add("bob", role::admin, "bob's long password");
  const auto made = c.domain.create_token("bobs-script", "bob", 0).value();
  EXPECT_EQ(c.domain.member_by_token(made.value.view()).value().member_role, role::admin);
  ASSERT_TRUE(c.domain.set_role("bob", role::reader));
  EXPECT_EQ(c.domain.member_by_token(made.value.view()).value().member_role, role::reader);
}

TEST(MemberCerts, OnlyTheMembersClientCertificates) {
  testing::test_club c;
  c.add("root", role::admin, "the admin's long password");
  c.add("bob", role::reader, "bob's long password");
  c.add("bobby", role::reader, "bobby's long password");
  EXPECT_TRUE(c.domain.member_certs("bob").value().empty());
  const auto first = c.domain.issue_client_cert("bob", 30).value();
  ASSERT_TRUE(c.domain.issue_client_cert("bobby", 30));
  ASSERT_TRUE(c.domain.record_server_cert(
      {"abc", store::cert_kind::server, "bob", c.clock.now, c.clock.now + 10, 0}));
  c.clock.now += 1;
  const auto second = c.domain.issue_client_cert("bob", 30).value();
  const auto certs = c.domain.member_certs("bob").value();
  ASSERT_EQ(certs.size(), 2U);
  EXPECT_EQ(certs[0].serial, first.serial);
  EXPECT_EQ(certs[1].serial, second.serial);
  EXPECT_EQ(c.domain.member_certs("ghost").error(), errc::not_found);
  // A removed member's certificates are still theirs, revoked.
  ASSERT_TRUE(c.domain.remove_member("bob"));
  const auto after = c.domain.member_certs("bob").value();
  ASSERT_EQ(after.size(), 2U);
  EXPECT_TRUE(after[0].revoked());
  EXPECT_TRUE(after[1].revoked());
}

TEST(Certificates, OnlyAMemberGetsOneAndNothingIsAskedOfTheCaOtherwise) {
  testing::test_club c;
  EXPECT_EQ(c.domain.issue_client_cert("ghost", 30).error(), errc::not_found);
  EXPECT_EQ(c.ca.issued, 0);
  c.add("bob", role::reader, "bob's long password");
  c.ca.fail = true;
  EXPECT_FALSE(c.domain.issue_client_cert("bob", 30));
  EXPECT_TRUE(c.domain.list_certs().value().empty());
}

TEST(Certificates, RevokingRepublishesAndAnUnknownSerialChangesNothing) {
  testing::test_club c;
  c.add("bob", role::reader, "bob's long password");
  const auto issued = c.domain.issue_client_cert("bob", 30).value();
  EXPECT_EQ(c.domain.revoke_cert("ffff").error(), errc::not_found);
  EXPECT_EQ(c.ca.published, 0);
  ASSERT_TRUE(c.domain.revoke_cert(issued.serial));
  EXPECT_EQ(c.ca.published, 1);
  const auto certs = c.domain.list_certs().value();
  ASSERT_EQ(certs.size(), 1U);
  EXPECT_TRUE(certs[0].revoked());
}

TEST(Tokens, MadeForAMemberStoredOnlyAsAHash) {
  testing::test_club c;
  c.add("bob", role::reader, "bob's long password");
  EXPECT_EQ(c.domain.create_token("bad name", "bob", 0).error(), errc::invalid_argument);
  EXPECT_EQ(c.domain.create_token("script", "bob", -1).error(), errc::invalid_argument);
  EXPECT_EQ(c.domain.create_token("script", "ghost", 0).error(), errc::not_found);
  const auto made = c.domain.create_token("script", "bob", 3600);
  ASSERT_TRUE(made);
  EXPECT_EQ(made->record.expires_at, c.clock.now + 3600);
  EXPECT_EQ(c.store.member_by_token(token_hash(made->value.view()), c.clock.now).value().name,
            "bob");
  EXPECT_EQ(c.domain.create_token("script", "bob", 0).error(), errc::already_exists);
  ASSERT_TRUE(c.domain.revoke_token("script"));
  EXPECT_EQ(c.store.member_by_token(token_hash(made->value.view()), c.clock.now).error(),
            errc::not_found);
  EXPECT_EQ(c.domain.revoke_token("script").error(), errc::not_found);
}

}  // namespace
}  // namespace hush::club
