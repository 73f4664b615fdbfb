// The contract of store/cert_store.hpp, for every backend (store_contract.hpp).
#include "store/cert_store.hpp"

#include <algorithm>
#include <thread>

#include "core/error.hpp"
#include "unit/store/contract/store_contract.hpp"

namespace hush::store::contract {

TEST_P(CertStoreContract, AClientCertificateIsRecordedForAMember) {
  add_member("alice");
  add_member("bob");
  ASSERT_TRUE(db.add_client_cert({"a1", "alice", 10, 1000, 0}));
  const auto status = db.client_cert_status("a1").value();
  EXPECT_EQ(status.serial, "a1");
  EXPECT_EQ(status.member, "alice");
  EXPECT_EQ(status.issued_at, 10);
  EXPECT_EQ(status.expires_at, 1000);
  EXPECT_FALSE(status.revoked());
  EXPECT_EQ(db.client_cert_status("ff").error(), errc::not_found);
  EXPECT_EQ(db.add_client_cert({"a1", "bob", 11, 1000, 0}).error(), errc::already_exists);
  EXPECT_EQ(db.client_cert_status("a1").value().member, "alice");
  EXPECT_EQ(db.add_client_cert({"a2", "carol", 10, 1000, 0}).error(), errc::not_found);
  EXPECT_EQ(db.client_cert_status("a2").error(), errc::not_found);
  EXPECT_TRUE(db.list_revoked_certs().value().empty());
}

TEST_P(CertStoreContract, ARemovedMemberGetsNoNewCertificate) {
  add_member("alice");
  ASSERT_TRUE(db.remove_member("alice", 5));
  EXPECT_EQ(db.add_client_cert({"a3", "alice", 10, 1000, 0}).error(), errc::not_found);
  EXPECT_EQ(db.client_cert_status("a3").error(), errc::not_found);
}

TEST_P(CertStoreContract, RevocationKeepsTheFirstTime) {
  add_member("alice");
  ASSERT_TRUE(db.add_client_cert({"a1", "alice", 10, 1000, 0}));
  ASSERT_TRUE(db.add_client_cert({"a2", "alice", 10, 1000, 0}));
  EXPECT_EQ(db.revoke_cert("ff", 20).error(), errc::not_found);
  ASSERT_TRUE(db.revoke_cert("a1", 20));
  ASSERT_TRUE(db.revoke_cert("a1", 30));
  ASSERT_TRUE(db.revoke_cert("a1", 10));
  EXPECT_EQ(db.client_cert_status("a1").value().revoked_at, 20);
  EXPECT_FALSE(db.client_cert_status("a2").value().revoked());
  const auto revoked = db.list_revoked_certs().value();
  ASSERT_EQ(revoked.size(), 1U);
  EXPECT_EQ(revoked[0].serial, "a1");
  EXPECT_EQ(revoked[0].revoked_at, 20);
}

TEST_P(CertStoreContract, ACertificateRecordedRevokedStaysRevoked) {
  add_member("alice");
  ASSERT_TRUE(db.add_client_cert({"a1", "alice", 10, 1000, 15}));
  ASSERT_TRUE(db.revoke_cert("a1", 30));
  EXPECT_EQ(db.client_cert_status("a1").value().revoked_at, 15);
  EXPECT_EQ(db.revoke_member_certs("alice", 40).value(), 0U);
}

TEST_P(CertStoreContract, RevokingAMembersCertificatesTouchesOnlyTheirValidOnes) {
  add_member("alice");
  add_member("bob");
  ASSERT_TRUE(db.add_client_cert({"a1", "alice", 10, 1000, 0}));
  ASSERT_TRUE(db.add_client_cert({"a2", "alice", 10, 1000, 0}));
  ASSERT_TRUE(db.add_client_cert({"b1", "bob", 10, 1000, 0}));
  ASSERT_TRUE(db.revoke_cert("a1", 20));
  EXPECT_EQ(db.revoke_member_certs("alice", 30).value(), 1U);
  EXPECT_EQ(db.revoke_member_certs("alice", 40).value(), 0U);
  EXPECT_EQ(db.revoke_member_certs("carol", 40).value(), 0U);
  EXPECT_EQ(db.client_cert_status("a1").value().revoked_at, 20);
  EXPECT_EQ(db.client_cert_status("a2").value().revoked_at, 30);
  EXPECT_FALSE(db.client_cert_status("b1").value().revoked());
  EXPECT_EQ(db.list_revoked_certs().value().size(), 2U);
}

// Server certificates (hush init, cert renew: server; ca sign: csr) are recorded and revocable
// like members' certificates, and the CRL lists them; the client check never sees them.
TEST_P(CertStoreContract, ServerCertificatesAreRecordedRevokedAndListed) {
  add_member("alice");
  ASSERT_TRUE(db.add_client_cert({"a1", "alice", 10, 1000, 0}));
  ASSERT_TRUE(db.add_server_cert({"5e", cert_kind::server, "localhost,127.0.0.1", 11, 2000, 0}));
  ASSERT_TRUE(db.add_server_cert({"c5", cert_kind::csr, "web.example", 12, 3000, 0}));
  EXPECT_EQ(db.add_server_cert({"5e", cert_kind::csr, "x", 13, 3000, 0}).error(),
            errc::already_exists);
  EXPECT_EQ(db.add_server_cert({"77", cert_kind::client, "alice", 13, 3000, 0}).error(),
            errc::storage_failure);
  EXPECT_EQ(db.client_cert_status("5e").error(), errc::not_found);

  const auto all = db.list_certs().value();
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].serial, "a1");
  EXPECT_EQ(all[0].kind, cert_kind::client);
  EXPECT_EQ(all[0].names, "alice");
  EXPECT_EQ(all[0].expires_at, 1000);
  EXPECT_EQ(all[1].serial, "5e");
  EXPECT_EQ(all[1].kind, cert_kind::server);
  EXPECT_EQ(all[1].names, "localhost,127.0.0.1");
  EXPECT_EQ(all[1].issued_at, 11);
  EXPECT_EQ(all[1].expires_at, 2000);
  EXPECT_FALSE(all[1].revoked());
  EXPECT_EQ(all[2].serial, "c5");
  EXPECT_EQ(all[2].kind, cert_kind::csr);

  ASSERT_TRUE(db.revoke_cert("5e", 40));
  ASSERT_TRUE(db.revoke_cert("5e", 50));
  ASSERT_TRUE(db.revoke_cert("a1", 45));
  ASSERT_TRUE(db.revoke_cert("c5", 60));
  const auto revoked = db.list_revoked_certs().value();
  ASSERT_EQ(revoked.size(), 3U);
  EXPECT_EQ(revoked[0].serial, "5e");
  EXPECT_EQ(revoked[0].revoked_at, 40);
  EXPECT_EQ(revoked[1].serial, "a1");
  EXPECT_EQ(revoked[1].revoked_at, 45);
  EXPECT_EQ(revoked[2].serial, "c5");
  EXPECT_EQ(db.list_certs().value()[1].revoked_at, 40);
  // Revoking a member's certificates leaves the server's alone.
  add_member("bob");
  ASSERT_TRUE(db.add_server_cert({"5f", cert_kind::server, "bob", 70, 2000, 0}));
  EXPECT_EQ(db.revoke_member_certs("bob", 80).value(), 0U);
}

TEST_P(CertStoreContract, ListingsAreByTimeThenSerial) {
  add_member("alice");
  ASSERT_TRUE(db.add_server_cert({"b2", cert_kind::server, "h", 20, 2000, 0}));
  ASSERT_TRUE(db.add_client_cert({"c3", "alice", 10, 1000, 0}));
  ASSERT_TRUE(db.add_client_cert({"a9", "alice", 20, 1000, 0}));
  ASSERT_TRUE(db.add_server_cert({"d4", cert_kind::csr, "h", 5, 2000, 0}));
  const auto all = db.list_certs().value();
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(all[0].serial, "d4");
  EXPECT_EQ(all[1].serial, "c3");
  EXPECT_EQ(all[2].serial, "a9");
  EXPECT_EQ(all[3].serial, "b2");

  ASSERT_TRUE(db.revoke_cert("d4", 50));
  ASSERT_TRUE(db.revoke_cert("b2", 30));
  ASSERT_TRUE(db.revoke_cert("a9", 50));
  ASSERT_TRUE(db.revoke_cert("c3", 40));
  const auto revoked = db.list_revoked_certs().value();
  ASSERT_EQ(revoked.size(), 4U);
  EXPECT_EQ(revoked[0].serial, "b2");
  EXPECT_EQ(revoked[1].serial, "c3");
  EXPECT_EQ(revoked[2].serial, "a9");
  EXPECT_EQ(revoked[3].serial, "d4");
}

// Each CRL number is one more than the last, however many ask at once.
TEST_P(CertStoreContract, CrlNumbersOnlyGrow) {
  const auto first = db.next_crl_number().value();
  EXPECT_GT(first, 0);
  EXPECT_EQ(db.next_crl_number().value(), first + 1);
  constexpr int threads = 4;
  constexpr int each = 10;
  std::vector<std::vector<std::int64_t>> got(threads);
  {
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = 0; i < each; ++i) {
          auto number = db.next_crl_number();
          ASSERT_TRUE(number);
          got[t].push_back(*number);
        }
      });
    }
  }
  std::vector<std::int64_t> all;
  for (const auto& mine : got) {
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
    all.insert(all.end(), mine.begin(), mine.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(threads * each));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  EXPECT_EQ(all.front(), first + 2);
  EXPECT_EQ(all.back(), first + 1 + threads * each);
  EXPECT_EQ(db.next_crl_number().value(), first + 2 + threads * each);
}

}  // namespace hush::store::contract
