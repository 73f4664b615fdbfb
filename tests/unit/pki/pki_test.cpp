#include "pki/pki.hpp"

#include <ctime>
#include <functional>
#include <memory>
#include <type_traits>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
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
  EXPECT_NE(ca.key_pem.view().find("PRIVATE KEY"), std::string::npos);
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

// nameConstraints permitting the club's hosts: a leaf for them verifies, one for another name
// (signed with the same key, as a thief of ca.key would) does not, while the control, an
// unconstrained CA, lets the same leaf through.
TEST(Pki, ConstrainedCaVouchesForTheClubHostsOnly) {
  const std::vector<std::string> hosts{"localhost", "127.0.0.1", "::1", "club.example"};
  const auto ca = make_ca("test CA", hosts);
  const auto root = read_cert(ca.cert_pem);
  int critical = 0;
  auto* nc = static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(root.get(), NID_name_constraints, &critical, nullptr));
  ASSERT_NE(nc, nullptr);
  EXPECT_EQ(critical, 1);
  EXPECT_EQ(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), 4);
  EXPECT_EQ(nc->excludedSubtrees, nullptr);
  NAME_CONSTRAINTS_free(nc);
  EXPECT_EQ(X509_get_extended_key_usage(root.get()),
            static_cast<std::uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));

  const auto info = inspect_cert(ca.cert_pem);
  EXPECT_TRUE(info.name_constrained);
  EXPECT_EQ(info.permitted,
            (std::vector<std::string>{"localhost", "127.0.0.1/32", "::1/128", "club.example"}));
  EXPECT_FALSE(make_ca("old CA").cert_pem.empty());
  EXPECT_FALSE(inspect_cert(make_ca("old CA").cert_pem).name_constrained);

  // Within: the club's names and the names below them.
  EXPECT_TRUE(hosts_outside(ca.cert_pem, {"localhost", "127.0.0.1", "::1", "club.example",
                                          "www.club.example", "CLUB.example"})
                  .empty());
  EXPECT_EQ(hosts_outside(ca.cert_pem, {"club.example", "evil.example", "127.0.0.2", "::2",
                                        "notclub.example", "club.example.evil"}),
            (std::vector<std::string>{"evil.example", "127.0.0.2", "::2", "notclub.example",
                                      "club.example.evil"}));
  EXPECT_TRUE(hosts_outside(make_ca("old CA").cert_pem, {"evil.example"}).empty());

  const auto server = issue_server(ca, {"club.example", "www.club.example", "127.0.0.1"});
  EXPECT_TRUE(verifies(read_cert(server.cert_pem).get(), root.get()));
  EXPECT_THROW(issue_server(ca, {"club.example", "evil.example"}), std::runtime_error);
  EXPECT_THROW(issue_server(ca, {"127.0.0.2"}), std::runtime_error);
  // A member's certificate names no host, and issues under the constraint.
  EXPECT_NO_THROW(issue_client(ca, "ann.lee"));
}

// A type of name the hosts do not use is constrained too, never left open.
TEST(Pki, ANameTypeWithoutHostsIsClosedNotOpen) {
  const auto dns_only = make_ca("test CA", {"club.example"});
  EXPECT_EQ(inspect_cert(dns_only.cert_pem).permitted,
            (std::vector<std::string>{"club.example", "0.0.0.0/32"}));
  EXPECT_EQ(hosts_outside(dns_only.cert_pem, {"club.example", "127.0.0.2", "::1"}),
            (std::vector<std::string>{"127.0.0.2", "::1"}));
  const auto ip_only = make_ca("test CA", {"192.0.2.1"});
  EXPECT_EQ(hosts_outside(ip_only.cert_pem, {"192.0.2.1", "evil.example", "localhost"}),
            (std::vector<std::string>{"evil.example", "localhost"}));
}

TEST(Pki, AForgedLeafFailsTheConstraintAndPassesWithoutIt) {
  const auto constrained = make_ca("test CA", {"localhost", "127.0.0.1", "::1"});
  const auto unconstrained = make_ca("old CA");
  // A leaf for evil.example, signed by each CA's key: issue_server refuses to make it under the
  // constraint, so it is made under the unconstrained CA and then re-signed as the other would.
  for (const char* host : {"evil.example", "127.0.0.2", "::2"}) {
    const auto forged = issue_server(unconstrained, {host});
    auto leaf = read_cert(forged.cert_pem);
    EXPECT_TRUE(verifies(leaf.get(), read_cert(unconstrained.cert_pem).get())) << host;
    const auto root = read_cert(constrained.cert_pem);
    X509_set_issuer_name(leaf.get(), X509_get_subject_name(root.get()));
    X509_EXTENSION_free(X509_delete_ext(
        leaf.get(), X509_get_ext_by_NID(leaf.get(), NID_authority_key_identifier, -1)));
    BIO* bio = BIO_new_mem_buf(constrained.key_pem.view().data(),
                               static_cast<int>(constrained.key_pem.view().size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    ASSERT_GT(X509_sign(leaf.get(), key, EVP_sha256()), 0);
    EVP_PKEY_free(key);
    EXPECT_FALSE(verifies(leaf.get(), root.get())) << host;
  }
  ERR_clear_error();
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
  const auto der = make_crl_der(ca, 30, 1);
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

namespace hush::pki {
namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

// A CSR for `key` with subject CN `cn` (none if empty) and the given extension requests
// (nid, openssl config value).
std::string make_csr(EVP_PKEY* key, const std::string& cn,
                     const std::vector<std::pair<int, std::string>>& extensions) {
  X509_REQ* req = X509_REQ_new();
  X509_REQ_set_version(req, 0);
  if (!cn.empty()) {
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  }
  X509_REQ_set_pubkey(req, key);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  for (const auto& [nid, value] : extensions) {
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, nid, value.c_str()));
  }
  if (!extensions.empty()) {
    X509_REQ_add_extensions(req, exts);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_sign(req, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, req);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  X509_REQ_free(req);
  return pem;
}

pkey_ptr ec_key(const char* curve = "P-256") {
  return pkey_ptr(EVP_EC_gen(curve));
}

pkey_ptr rsa_key(unsigned bits) {
  return pkey_ptr(EVP_RSA_gen(bits));
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(PkiClient, ClientCertificateIsAConstrainedLeafForClientAuth) {
  const auto ca = make_ca("test CA");
  const auto client = issue_client(ca, "alice", 30, "https://localhost:5684/ca.crl");
  const auto leaf = read_cert(client.cert_pem);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_TRUE(X509_get_extended_key_usage(leaf.get()) & XKU_SSL_CLIENT);
  EXPECT_FALSE(X509_get_extended_key_usage(leaf.get()) & XKU_SSL_SERVER);
  EXPECT_EQ(X509_get_key_usage(leaf.get()), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  const auto info = inspect_cert(client.cert_pem);
  EXPECT_EQ(info.common_name, "alice");
  EXPECT_TRUE(info.hosts.empty());
  EXPECT_EQ(info.crl_url, "https://localhost:5684/ca.crl");
  EXPECT_GE(info.serial.size(), 30U);  // 159 random bits: 40 hex digits but for leading zeros
  EXPECT_TRUE(key_matches_cert(client.key_pem.view(), client.cert_pem));
  EXPECT_TRUE(issued_by(client.cert_pem, ca.cert_pem));
  EXPECT_FALSE(issued_by(client.cert_pem, make_ca("other").cert_pem));
  const auto root = read_cert(ca.cert_pem);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  EXPECT_EQ(X509_verify_cert(ctx), 1);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  EXPECT_NE(inspect_cert(issue_client(ca, "alice", 30).cert_pem).serial, info.serial);
  EXPECT_THROW(issue_client(ca, "alice", max_client_validity_days + 1), std::runtime_error);
  EXPECT_THROW(issue_client(ca, "", 30), std::runtime_error);
}

TEST(PkiClient, Pkcs12UsesPbes2AesAndSha256Mac) {
  const auto ca = make_ca("test CA");
  const auto client = issue_client(ca, "alice", 30);
  const auto der = make_pkcs12(client, ca.cert_pem, "correct horse", "alice");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<PKCS12, void (*)(PKCS12*)> p12(
      d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())), PKCS12_free);
  ASSERT_TRUE(p12);
  EXPECT_EQ(PKCS12_verify_mac(p12.get(), "wrong", -1), 0);
  ASSERT_EQ(PKCS12_verify_mac(p12.get(), "correct horse", -1), 1);
  const X509_ALGOR* mac_alg = nullptr;
  const ASN1_INTEGER* iterations = nullptr;
  PKCS12_get0_mac(nullptr, &mac_alg, nullptr, &iterations, p12.get());
  const ASN1_OBJECT* mac_oid = nullptr;
  X509_ALGOR_get0(&mac_oid, nullptr, nullptr, mac_alg);
  EXPECT_EQ(OBJ_obj2nid(mac_oid), NID_sha256);
  EXPECT_EQ(ASN1_INTEGER_get(iterations), pkcs12_iterations);
  // Every encrypted bag, the certificates' and the key's, is PBES2.
  STACK_OF(PKCS7)* safes = PKCS12_unpack_authsafes(p12.get());
  ASSERT_NE(safes, nullptr);
  int pbes2 = 0;
  for (int i = 0; i < sk_PKCS7_num(safes); ++i) {
    PKCS7* safe = sk_PKCS7_value(safes, i);
    if (OBJ_obj2nid(safe->type) == NID_pkcs7_encrypted) {
      const ASN1_OBJECT* oid = nullptr;
      X509_ALGOR_get0(&oid, nullptr, nullptr, safe->d.encrypted->enc_data->algorithm);
      EXPECT_EQ(OBJ_obj2nid(oid), NID_pbes2);
      ++pbes2;
    } else {
      STACK_OF(PKCS12_SAFEBAG)* bags = PKCS12_unpack_p7data(safe);
      for (int b = 0; b < sk_PKCS12_SAFEBAG_num(bags); ++b) {
        const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, b);
        if (PKCS12_SAFEBAG_get_nid(bag) == NID_pkcs8ShroudedKeyBag) {
          const X509_ALGOR* alg = nullptr;
          X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, nullptr);
          const ASN1_OBJECT* oid = nullptr;
          X509_ALGOR_get0(&oid, nullptr, nullptr, alg);
          EXPECT_EQ(OBJ_obj2nid(oid), NID_pbes2);
          ++pbes2;
        }
      }
      sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    }
  }
  sk_PKCS7_pop_free(safes, PKCS7_free);
  EXPECT_EQ(pbes2, 2);
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  ASSERT_EQ(PKCS12_parse(p12.get(), "correct horse", &key, &cert, &chain), 1);
  EXPECT_EQ(X509_cmp(cert, read_cert(client.cert_pem).get()), 0);
  EXPECT_EQ(sk_X509_num(chain), 1);
  EVP_PKEY_free(key);
  X509_free(cert);
  sk_X509_pop_free(chain, X509_free);
  // A key that is not the certificate's is refused.
  EXPECT_THROW(
      make_pkcs12({secret_string(ca.key_pem.str()), client.cert_pem}, ca.cert_pem, "pw", "x"),
      std::runtime_error);
}

TEST(PkiClient, CrlListsRevokedSerialsWithTheirDates) {
  const auto ca = make_ca("test CA");
  const auto one = inspect_cert(issue_client(ca, "alice", 30).cert_pem).serial;
  const auto der = make_crl_der(ca, 30, 7, {{one, 1'700'000'000}, {"0A:1B", 1'700'000'100}});
  const auto info = inspect_crl(der, ca.cert_pem);
  EXPECT_TRUE(info.signed_by_ca);
  EXPECT_EQ(info.revoked, 2U);
  EXPECT_FALSE(inspect_crl(der, make_ca("other").cert_pem).signed_by_ca);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509_CRL, void (*)(X509_CRL*)> crl(
      d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())), X509_CRL_free);
  ASSERT_TRUE(crl);
  X509_REVOKED* entry = nullptr;
  const auto leaf = read_cert(issue_client(ca, "bob", 30).cert_pem);
  EXPECT_EQ(X509_CRL_get0_by_serial(crl.get(), &entry, X509_get0_serialNumber(leaf.get())), 0);
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, one.c_str());
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
  ASSERT_EQ(X509_CRL_get0_by_serial(crl.get(), &entry, serial), 1);
  std::tm tm{};
  ASN1_TIME_to_tm(X509_REVOKED_get0_revocationDate(entry), &tm);
  EXPECT_EQ(::timegm(&tm), 1'700'000'000);
  ASN1_INTEGER_free(serial);
  BN_free(bn);
  EXPECT_THROW(make_crl_der(ca, 30, 8, {{"not hex", 1}}), std::runtime_error);
}

// The CRL number is the one asked for, not the time: the store's counter decides it.
TEST(PkiClient, CrlCarriesTheNumberItIsGiven) {
  const auto ca = make_ca("test CA");
  EXPECT_EQ(inspect_crl(make_crl_der(ca, 30, 5), ca.cert_pem).number, 5);
  EXPECT_EQ(inspect_crl(make_crl_der(ca, 30, 6), ca.cert_pem).number, 6);
  EXPECT_EQ(inspect_crl(make_crl_der(ca, 30, 1'800'000'000'001), ca.cert_pem).number,
            1'800'000'000'001);
  EXPECT_THROW(make_crl_der(ca, 30, 0), std::runtime_error);
  EXPECT_THROW(make_crl_der(ca, 30, -1), std::runtime_error);
}

// Private keys travel in zeroed types, never a plain std::string.
TEST(PkiClient, PrivateKeysAreSecretStrings) {
  static_assert(std::is_same_v<decltype(key_and_cert::key_pem), secret_string>);
  static_assert(!std::is_copy_constructible_v<key_and_cert>);
  const auto ca = make_ca("test CA");
  EXPECT_TRUE(key_matches_cert(ca.key_pem.view(), ca.cert_pem));
}

TEST(PkiClient, CanonicalSerial) {
  EXPECT_EQ(canonical_serial("0A:1B"), "a1b");
  EXPECT_EQ(canonical_serial("0x0a1b"), "a1b");
  EXPECT_EQ(canonical_serial("00FF"), "ff");
  EXPECT_EQ(canonical_serial("a1b"), "a1b");
  EXPECT_EQ(canonical_serial(""), "");
  EXPECT_EQ(canonical_serial("000"), "");
  EXPECT_EQ(canonical_serial("-1"), "");
  EXPECT_EQ(canonical_serial("12g"), "");
  EXPECT_EQ(canonical_serial(std::string(41, 'f')), "");
  EXPECT_EQ(canonical_serial(std::string(40, 'f')), std::string(40, 'f'));
}

TEST(PkiCsr, SignsAServerLeafTakingOnlyTheNames) {
  const auto ca = make_ca("test CA");
  auto key = ec_key();
  const auto csr = make_csr(key.get(), "club.example",
                            {{NID_subject_alt_name, "DNS:club.example,IP:192.0.2.1"},
                             {NID_key_usage, "critical,keyCertSign,cRLSign"},
                             {NID_ext_key_usage, "codeSigning"},
                             {NID_basic_constraints, "critical,CA:FALSE"}});
  const auto pem = sign_csr(ca, csr, 90, "https://club.example:5684/ca.crl");
  const auto leaf = read_cert(pem);
  ASSERT_TRUE(leaf);
  EXPECT_TRUE(verifies(leaf.get(), read_cert(ca.cert_pem).get()));
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_EQ(X509_get_key_usage(leaf.get()), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(leaf.get()), static_cast<std::uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(leaf.get()), key.get()), 1);
  const auto info = inspect_cert(pem);
  EXPECT_EQ(info.common_name, "club.example");
  EXPECT_EQ(info.hosts, (std::vector<std::string>{"club.example", "192.0.2.1"}));
  EXPECT_EQ(info.crl_url, "https://club.example:5684/ca.crl");
}

TEST(PkiCsr, WithoutSanTheCommonNameMustBeAHost) {
  const auto ca = make_ca("test CA");
  auto key = ec_key("P-384");
  EXPECT_EQ(inspect_cert(sign_csr(ca, make_csr(key.get(), "host.example", {}), 30)).hosts,
            std::vector<std::string>{"host.example"});
  EXPECT_NE(error_of([&] {
              sign_csr(ca, make_csr(key.get(), "Alice Smith", {}), 30);
            }).find("names no host"),
            std::string::npos);
  // Without a CN, the first name is the subject.
  EXPECT_EQ(
      inspect_cert(
          sign_csr(ca, make_csr(key.get(), "", {{NID_subject_alt_name, "DNS:a.example"}}), 30))
          .common_name,
      "a.example");
}

TEST(PkiCsr, RsaGetsKeyEnciphermentAndSmallRsaIsRefused) {
  const auto ca = make_ca("test CA");
  auto big = rsa_key(2048);
  const auto leaf = read_cert(sign_csr(ca, make_csr(big.get(), "rsa.example", {}), 30));
  EXPECT_EQ(X509_get_key_usage(leaf.get()),
            static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  auto small = rsa_key(1024);
  EXPECT_NE(error_of([&] {
              sign_csr(ca, make_csr(small.get(), "rsa.example", {}), 30);
            }).find("1024 bits"),
            std::string::npos);
}

TEST(PkiCsr, RefusesWhatHushNeverSigns) {
  const auto ca = make_ca("test CA");
  auto key = ec_key();
  EXPECT_NE(error_of([&] {
              sign_csr(ca,
                       make_csr(key.get(), "ca.example",
                                {{NID_basic_constraints, "critical,CA:TRUE"},
                                 {NID_subject_alt_name, "DNS:ca.example"}}),
                       30);
            }).find("leaf certificates only"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] {
        sign_csr(ca, make_csr(key.get(), "x", {{NID_subject_alt_name, "email:a@b.example"}}), 30);
      }).find("neither DNS nor IP"),
      std::string::npos);
  EXPECT_THROW(sign_csr(ca, make_csr(key.get(), "x.example", {}), max_server_validity_days + 1),
               std::runtime_error);
  EXPECT_THROW(sign_csr(ca, make_csr(key.get(), "x.example", {}), 0), std::runtime_error);
  auto k1 = ec_key("secp256k1");
  EXPECT_NE(error_of([&] {
              sign_csr(ca, make_csr(k1.get(), "x.example", {}), 30);
            }).find("P-256 or P-384"),
            std::string::npos);
  pkey_ptr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_THROW(sign_csr(ca, make_csr(ed.get(), "x.example", {}), 30), std::runtime_error);
  EXPECT_THROW(sign_csr(ca, "not a CSR", 30), std::runtime_error);
  // A CSR whose signature does not match its key (subject altered after signing).
  auto csr = make_csr(key.get(), "x.example", {});
  BIO* bio = BIO_new_mem_buf(csr.data(), static_cast<int>(csr.size()));
  X509_REQ* req = PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  auto other = ec_key();
  X509_REQ_set_pubkey(req, other.get());
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(out, req);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  const std::string forged(data, static_cast<std::size_t>(size));
  BIO_free(out);
  X509_REQ_free(req);
  EXPECT_NE(error_of([&] { sign_csr(ca, forged, 30); }).find("does not verify"), std::string::npos);
  ERR_clear_error();
}

TEST(PkiInspect, KeyMatchAndChain) {
  const auto ca = make_ca("test CA");
  const auto server = issue_server(ca, {"localhost", "::1"}, 30);
  EXPECT_TRUE(key_matches_cert(server.key_pem.view(), server.cert_pem));
  EXPECT_FALSE(key_matches_cert(ca.key_pem.view(), server.cert_pem));
  EXPECT_TRUE(issued_by(server.cert_pem, ca.cert_pem));
  const auto info = inspect_cert(server.cert_pem);
  EXPECT_EQ(info.hosts, (std::vector<std::string>{"localhost", "::1"}));
  EXPECT_FALSE(info.is_ca);
  EXPECT_TRUE(inspect_cert(ca.cert_pem).is_ca);
  EXPECT_NEAR(static_cast<double>(info.not_after - info.not_before), 30.0 * 86400, 1.0);
  EXPECT_THROW(inspect_cert("nothing"), std::runtime_error);
}

}  // namespace
}  // namespace hush::pki
