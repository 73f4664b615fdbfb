#include "pki/pki.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace hush::pki {
namespace {

template <auto Free>
struct deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO_free_all>>;
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION_free>>;

[[noreturn]] void fail(const std::string& what) {
  const unsigned long code = ERR_get_error();
  char reason[256] = "";
  if (code != 0) {
    ERR_error_string_n(code, reason, sizeof reason);
  }
  ERR_clear_error();
  throw std::runtime_error(what + (code != 0 ? std::string(": ") + reason : std::string()));
}

pkey_ptr make_p256_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) {
    fail("cannot generate an EC P-256 key");
  }
  return key;
}

std::string key_to_pem(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("cannot encode a private key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(size)};
}

std::string cert_to_pem(X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    fail("cannot encode a certificate");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(size)};
}

pkey_ptr key_from_pem(const std::string& pem) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    fail("cannot read the CA private key");
  }
  return key;
}

x509_ptr cert_from_pem(const std::string& pem) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    fail("cannot read the CA certificate");
  }
  return cert;
}

// 159 random bits: positive, unpredictable, within RFC 5280's 20 octets.
void set_random_serial(X509* cert) {
  bn_ptr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    fail("cannot make a certificate serial number");
  }
}

x509_ptr new_certificate(EVP_PKEY* subject_key, const std::string& common_name, int days) {
  x509_ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) {
    fail("cannot make a certificate");
  }
  set_random_serial(cert.get());
  // Backdated a little so that a client whose clock lags accepts it at once; the whole validity
  // period, backdating included, stays within `days`.
  constexpr long backdate_seconds = 5 * 60;
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -backdate_seconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  static_cast<long>(days) * 24 * 60 * 60 - backdate_seconds);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    fail("cannot set the certificate subject");
  }
  return cert;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    fail("cannot add certificate extension " + std::string(OBJ_nid2sn(nid)) + " = " + value);
  }
}

void sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) == 0) {
    fail("cannot sign a certificate");
  }
}

bool is_ip_address(const std::string& host) {
  const std::unique_ptr<ASN1_OCTET_STRING, deleter<ASN1_OCTET_STRING_free>> ip(
      a2i_IPADDRESS(host.c_str()));
  return ip != nullptr;
}

// Letters, digits, '-' and '.', as DNS names in certificates are; no empty labels.
bool is_dns_name(const std::string& host) {
  constexpr std::size_t max_dns_name = 253;
  if (host.empty() || host.size() > max_dns_name || host.front() == '.' || host.back() == '.' ||
      host.find("..") != std::string::npos) {
    return false;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
}

}  // namespace

std::vector<std::string> default_server_hosts() {
  return {"localhost", "127.0.0.1", "::1"};
}

key_and_cert make_ca(const std::string& common_name, int days) {
  auto key = make_p256_key();
  auto cert = new_certificate(key.get(), common_name, days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), cert.get(), NID_authority_key_identifier, "keyid:always");
  sign(cert.get(), key.get());
  return {key_to_pem(key.get()), cert_to_pem(cert.get())};
}

key_and_cert issue_server(const key_and_cert& ca, const std::vector<std::string>& hosts, int days,
                          const std::string& crl_url) {
  if (days < 1 || days > max_server_validity_days) {
    throw std::runtime_error("server certificate validity must be 1 to " +
                             std::to_string(max_server_validity_days) + " days");
  }
  if (hosts.empty()) {
    throw std::runtime_error("a server certificate needs at least one host name");
  }
  auto ca_key = key_from_pem(ca.key_pem);
  auto ca_cert = cert_from_pem(ca.cert_pem);
  auto key = make_p256_key();
  auto cert = new_certificate(key.get(), hosts.front(), days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));

  std::string san;
  for (const auto& host : hosts) {
    const bool ip = is_ip_address(host);
    if (!ip && !is_dns_name(host)) {
      throw std::runtime_error("\"" + host + "\" is not a host name or IP address");
    }
    san += san.empty() ? "" : ",";
    san += (ip ? "IP:" : "DNS:") + host;
  }
  add_extension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), ca_cert.get(), NID_subject_alt_name, san);
  add_extension(cert.get(), ca_cert.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  if (!crl_url.empty()) {
    if (crl_url.find_first_of(", \t\r\n") != std::string::npos) {
      throw std::runtime_error("\"" + crl_url + "\" is not a URL for a CRL");
    }
    add_extension(cert.get(), ca_cert.get(), NID_crl_distribution_points, "URI:" + crl_url);
  }
  sign(cert.get(), ca_key.get());
  return {key_to_pem(key.get()), cert_to_pem(cert.get())};
}

std::string make_crl_der(const key_and_cert& ca, int days) {
  auto ca_key = key_from_pem(ca.key_pem);
  auto ca_cert = cert_from_pem(ca.cert_pem);
  const std::unique_ptr<X509_CRL, deleter<X509_CRL_free>> crl(X509_CRL_new());
  const std::unique_ptr<ASN1_TIME, deleter<ASN1_TIME_free>> last(ASN1_TIME_new());
  const std::unique_ptr<ASN1_TIME, deleter<ASN1_TIME_free>> next(ASN1_TIME_new());
  if (!crl || !last || !next || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert.get())) != 1 ||
      X509_gmtime_adj(last.get(), 0) == nullptr ||
      X509_gmtime_adj(next.get(), static_cast<long>(days) * 24 * 60 * 60) == nullptr ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    fail("cannot make a CRL");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca_cert.get(), nullptr, nullptr, crl.get(), 0);
  ext_ptr aki(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  const std::unique_ptr<ASN1_INTEGER, deleter<ASN1_INTEGER_free>> number(ASN1_INTEGER_new());
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1 || !number ||
      ASN1_INTEGER_set(number.get(), 1) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    fail("cannot add the CRL extensions");
  }
  if (X509_CRL_sign(crl.get(), ca_key.get(), EVP_sha256()) == 0) {
    fail("cannot sign the CRL");
  }
  unsigned char* der = nullptr;
  const int size = i2d_X509_CRL(crl.get(), &der);
  if (size <= 0) {
    fail("cannot encode the CRL");
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(size));
  OPENSSL_free(der);
  return out;
}

}  // namespace hush::pki
