#include "pki/pki.hpp"

#include <memory>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace hush::pki {
namespace {

struct x509_deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_deleter>;

x509_ptr read_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  x509_ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

bool verifies(X509* leaf, X509* ca) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

std::string san_text(X509* cert) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::string out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      out += "DNS:" +
             std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)));
    } else if (name->type == GEN_IPADD) {
      out += "IP:" + std::to_string(ASN1_STRING_length(name->d.iPAddress));
    }
    out += ",";
  }
  GENERAL_NAMES_free(names);
  return out;
}

TEST(Pki, CaIsAConstrainedP256Ca) {
  const auto ca = make_ca("test CA");
  const auto cert = read_cert(ca.cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_NE(ca.key_pem.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_EQ(X509_get_pathlen(cert.get()), 0);
  EXPECT_EQ(X509_get_key_usage(cert.get()),
            static_cast<std::uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  int critical = 0;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_basic_constraints, &critical, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(critical, 1);
  BASIC_CONSTRAINTS_free(bc);
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  EXPECT_TRUE(EVP_PKEY_is_a(key, "EC"));
  char group[32] = "";
  EVP_PKEY_get_group_name(key, group, sizeof group, nullptr);
  EXPECT_STREQ(group, "prime256v1");
}

TEST(Pki, ServerCertificateNamesHostsAndVerifies) {
  const auto ca = make_ca("test CA");
  const auto server = issue_server(ca, {"localhost", "127.0.0.1", "::1", "club.example"});
  const auto leaf = read_cert(server.cert_pem);
  const auto root = read_cert(ca.cert_pem);
  ASSERT_TRUE(leaf);
  EXPECT_TRUE(verifies(leaf.get(), root.get()));
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_TRUE(X509_get_extended_key_usage(leaf.get()) & XKU_SSL_SERVER);
  EXPECT_EQ(san_text(leaf.get()), "DNS:localhost,IP:4,IP:16,DNS:club.example,");
  EXPECT_EQ(X509_check_host(leaf.get(), "club.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf.get(), "::1", 0), 1);
  // At most 397 days.
  int days = 0;
  int seconds = 0;
  ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(leaf.get()), X509_get0_notAfter(leaf.get()));
  EXPECT_TRUE(days < max_server_validity_days || (days == max_server_validity_days && seconds == 0))
      << days << " days " << seconds << " s";
}

TEST(Pki, ServerCertificateFromAnotherCaDoesNotVerify) {
  const auto ca = make_ca("one");
  const auto other = make_ca("two");
  const auto server = issue_server(ca, {"localhost"});
  EXPECT_FALSE(verifies(read_cert(server.cert_pem).get(), read_cert(other.cert_pem).get()));
}

TEST(Pki, RefusesBadHostsAndValidity) {
  const auto ca = make_ca("test CA");
  EXPECT_THROW(issue_server(ca, {"bad host"}), std::runtime_error);
  EXPECT_THROW(issue_server(ca, {"a,DNS:evil.example"}), std::runtime_error);
  EXPECT_THROW(issue_server(ca, {""}), std::runtime_error);
  EXPECT_THROW(issue_server(ca, {}), std::runtime_error);
  EXPECT_THROW(issue_server(ca, {"localhost"}, 398), std::runtime_error);
}

}  // namespace
}  // namespace hush::pki

namespace hush::pki {
namespace {

TEST(Pki, CrlIsSignedByTheCaAndEmpty) {
  const auto ca = make_ca("test CA");
  const auto der = make_crl_der(ca, 30);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509_CRL, void (*)(X509_CRL*)> crl(
      d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())), X509_CRL_free);
  ASSERT_TRUE(crl);
  const auto root = read_cert(ca.cert_pem);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(root.get())), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(root.get())), 0);
  // No revoked certificates: OpenSSL reports that as no list (-1) or an empty one.
  EXPECT_LE(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 0);
  int days = 0;
  int seconds = 0;
  ASN1_TIME_diff(&days, &seconds, X509_CRL_get0_lastUpdate(crl.get()),
                 X509_CRL_get0_nextUpdate(crl.get()));
  EXPECT_EQ(days, 30);
  // Another CA's key does not verify it.
  const auto other = read_cert(make_ca("other").cert_pem);
  EXPECT_NE(X509_CRL_verify(crl.get(), X509_get0_pubkey(other.get())), 1);
}

TEST(Pki, ServerCertificateNamesItsCrl) {
  const auto ca = make_ca("test CA");
  const auto with =
      read_cert(issue_server(ca, {"localhost"}, 30, "https://localhost:5684/ca.crl").cert_pem);
  auto* points = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(with.get(), NID_crl_distribution_points, nullptr, nullptr));
  ASSERT_NE(points, nullptr);
  ASSERT_EQ(sk_DIST_POINT_num(points), 1);
  const auto* names = sk_DIST_POINT_value(points, 0)->distpoint->name.fullname;
  const auto* uri = sk_GENERAL_NAME_value(names, 0)->d.uniformResourceIdentifier;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                        static_cast<std::size_t>(ASN1_STRING_length(uri))),
            "https://localhost:5684/ca.crl");
  CRL_DIST_POINTS_free(points);
  const auto without = read_cert(issue_server(ca, {"localhost"}, 30).cert_pem);
  EXPECT_EQ(X509_get_ext_by_NID(without.get(), NID_crl_distribution_points, -1), -1);
  EXPECT_THROW(issue_server(ca, {"localhost"}, 30, "https://a, URI:https://b"), std::runtime_error);
}

}  // namespace
}  // namespace hush::pki
