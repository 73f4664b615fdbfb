#include "acme/tls_alpn.hpp"

#include <array>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

// The tls-alpn-01 challenge certificate read back with OpenSSL, field by field against RFC 8737
// §3: the one DNS name, the critical acmeIdentifier holding the DER OCTET STRING of
// SHA-256(key authorization), a key that matches, valid now.

namespace hush::acme {
namespace {

using x509_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

x509_ptr parse(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return {PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free};
}

TEST(TlsAlpnCertificate, CarriesTheDigestOfTheKeyAuthorizationInACriticalExtension) {
  const std::string key_authorization = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.thumb";
  const auto made = make_tls_alpn_certificate("club.example.org", key_authorization);
  const auto cert = parse(made.cert_pem);
  ASSERT_TRUE(cert);

  const std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> oid(
      OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1), ASN1_OBJECT_free);
  const int at = X509_get_ext_by_OBJ(cert.get(), oid.get(), -1);
  ASSERT_GE(at, 0);
  X509_EXTENSION* extension = X509_get_ext(cert.get(), at);
  EXPECT_EQ(X509_EXTENSION_get_critical(extension), 1);
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(extension);
  std::array<unsigned char, 2 + SHA256_DIGEST_LENGTH> expected{0x04, 0x20};
  SHA256(reinterpret_cast<const unsigned char*>(key_authorization.data()), key_authorization.size(),
         expected.data() + 2);
  ASSERT_EQ(ASN1_STRING_length(value), static_cast<int>(expected.size()));
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)), expected.size()),
      std::string(reinterpret_cast<const char*>(expected.data()), expected.size()));
  EXPECT_EQ(X509_get_ext_by_OBJ(cert.get(), oid.get(), at), -1) << "exactly one";
}

TEST(TlsAlpnCertificate, NamesTheHostAloneAndMatchesItsKey) {
  const auto made = make_tls_alpn_certificate("club.example.org", "a.b");
  const auto cert = parse(made.cert_pem);
  ASSERT_TRUE(cert);
  std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)> names(
      static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)),
      GENERAL_NAMES_free);
  ASSERT_TRUE(names);
  ASSERT_EQ(sk_GENERAL_NAME_num(names.get()), 1);
  const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), 0);
  ASSERT_EQ(name->type, GEN_DNS);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                        static_cast<std::size_t>(ASN1_STRING_length(name->d.dNSName))),
            "club.example.org");
  EXPECT_EQ(X509_check_host(cert.get(), "club.example.org", 0, 0, nullptr), 1);
  EXPECT_LE(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0);
  EXPECT_GE(X509_cmp_current_time(X509_get0_notAfter(cert.get())), 0);

  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(made.key_pem.view().data(), static_cast<int>(made.key_pem.view().size())),
      BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  // Each challenge has a key of its own.
  EXPECT_NE(make_tls_alpn_certificate("club.example.org", "a.b").key_pem.view(),
            made.key_pem.view());
}

TEST(TlsAlpnCertificate, RefusesAddressesAndMalformedNames) {
  EXPECT_THROW(make_tls_alpn_certificate("192.0.2.7", "a.b"), std::runtime_error);
  EXPECT_THROW(make_tls_alpn_certificate("::1", "a.b"), std::runtime_error);
  EXPECT_THROW(make_tls_alpn_certificate("a.example,DNS:b.example", "a.b"), std::runtime_error);
  EXPECT_THROW(make_tls_alpn_certificate("", "a.b"), std::runtime_error);
}

}  // namespace
}  // namespace hush::acme
