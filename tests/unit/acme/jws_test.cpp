#include "acme/jws.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/manager.hpp"
#include "crypto/encoding.hpp"

namespace hush::acme {
namespace {

namespace json = boost::json;

std::string unbase64url(std::string text) {
  while (text.size() % 4 != 0) {
    text.push_back('=');
  }
  const auto bytes = crypto::base64url_decode(text);
  EXPECT_TRUE(bytes.has_value()) << text;
  return bytes ? std::string(bytes->view()) : std::string();
}

// The public key as a verifier rebuilds it from the JWK alone.
EVP_PKEY* key_from_jwk(const std::string& jwk) {
  const auto object = json::parse(jwk).as_object();
  const auto x = unbase64url(std::string(object.at("x").as_string()));
  const auto y = unbase64url(std::string(object.at("y").as_string()));
  std::string point = "\x04" + x + y;
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(build);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata_init(ctx), 1);
  EXPECT_EQ(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(build);
  return key;
}

// Verifies an ES256 JWS (r || s) with OpenSSL, as the CA does.
bool verifies(const std::string& flattened, EVP_PKEY* key) {
  const auto jws = json::parse(flattened).as_object();
  const std::string input = std::string(jws.at("protected").as_string()) + "." +
                            std::string(jws.at("payload").as_string());
  const auto raw = unbase64url(std::string(jws.at("signature").as_string()));
  if (raw.size() != 64) {
    return false;
  }
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_size = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_size),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

TEST(AcmeJws, Base64urlHasNoPadding) {
  // RFC 4648 §10's vectors, in the URL-safe alphabet without '='.
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
}

TEST(AcmeJws, SignaturesVerifyWithTheKeyInTheJwk) {
  const auto key = account_key::generate();
  EXPECT_EQ(key.jwk().rfind(R"({"crv":"P-256","kty":"EC","x":")", 0), 0U) << key.jwk();
  const auto jws = key.sign(R"({"alg":"ES256","nonce":"n","url":"https://ca/x"})", R"({"a":1})");
  EVP_PKEY* public_key = key_from_jwk(key.jwk());
  ASSERT_NE(public_key, nullptr);
  EXPECT_TRUE(verifies(jws, public_key));
  // POST-as-GET: an empty payload, signed all the same.
  const auto empty = key.sign(R"({"alg":"ES256"})", "");
  EXPECT_EQ(std::string(json::parse(empty).as_object().at("payload").as_string()), "");
  EXPECT_TRUE(verifies(empty, public_key));
  // Another key's signature does not verify.
  const auto other = account_key::generate();
  EXPECT_FALSE(verifies(other.sign(R"({"alg":"ES256"})", "{}"), public_key));
  EVP_PKEY_free(public_key);
}

TEST(AcmeJws, ThumbprintIsOfTheCanonicalJwkAndSurvivesThePem) {
  const auto key = account_key::generate();
  EXPECT_EQ(key.thumbprint().size(), 43U);
  const auto again = account_key::from_pem(key.pem().view());
  EXPECT_EQ(again.jwk(), key.jwk());
  EXPECT_EQ(again.thumbprint(), key.thumbprint());
  EXPECT_NE(account_key::generate().thumbprint(), key.thumbprint());
  EXPECT_THROW(account_key::from_pem("not a key"), std::runtime_error);
}

TEST(AcmeJws, CsrNamesEveryHost) {
  const auto request = make_csr({"club.example.org", "www.club.example.org", "192.0.2.7"});
  const auto* cursor = reinterpret_cast<const unsigned char*>(request.csr_der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &cursor, static_cast<long>(request.csr_der.size()));
  ASSERT_NE(req, nullptr);
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(req);
  EXPECT_EQ(X509_REQ_verify(req, public_key), 1);
  STACK_OF(X509_EXTENSION)* extensions = X509_REQ_get_extensions(req);
  auto* names = static_cast<GENERAL_NAMES*>(
      X509V3_get_d2i(extensions, NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  ASSERT_EQ(sk_GENERAL_NAME_num(names), 3);
  EXPECT_EQ(sk_GENERAL_NAME_value(names, 0)->type, GEN_DNS);
  EXPECT_EQ(sk_GENERAL_NAME_value(names, 1)->type, GEN_DNS);
  EXPECT_EQ(sk_GENERAL_NAME_value(names, 2)->type, GEN_IPADD);
  GENERAL_NAMES_free(names);
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  X509_REQ_free(req);
  EXPECT_NE(request.key_pem.view().find("PRIVATE KEY"), std::string_view::npos);
  EXPECT_THROW(make_csr({}), std::runtime_error);
  EXPECT_THROW(make_csr({"a.example,DNS:evil.example"}), std::runtime_error);
}

TEST(AcmeRenewal, AtTwoThirdsLessAJitterOfATwentieth) {
  const std::int64_t start = 1'000'000;
  const std::int64_t ninety_days = 90LL * 86'400;
  EXPECT_EQ(renewal_time(start, start + ninety_days, 0.0), start + 60LL * 86'400);
  const auto latest_jitter = renewal_time(start, start + ninety_days, 0.999);
  EXPECT_LT(latest_jitter, start + 60LL * 86'400);
  EXPECT_GT(latest_jitter, start + 60LL * 86'400 - ninety_days / 20 - 1);
  EXPECT_EQ(renewal_time(start, start - 5, 0.5), start);  // a certificate upside down: now
}

TEST(AcmeRenewal, NoCertificateIsNotUsable) {
  EXPECT_FALSE(has_usable_certificate({"/nonexistent/acme"}, {"club.example.org"}, 0));
}

}  // namespace
}  // namespace hush::acme
