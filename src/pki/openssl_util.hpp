#pragma once

// OpenSSL plumbing shared by the pki sources: owning pointers, PEM and DER conversions, and
// readers of ASN.1 values. Internal to pki/.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/secret.hpp"

namespace hush::pki::detail {

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
using req_ptr = std::unique_ptr<X509_REQ, deleter<X509_REQ_free>>;
using crl_ptr = std::unique_ptr<X509_CRL, deleter<X509_CRL_free>>;
using time_ptr = std::unique_ptr<ASN1_TIME, deleter<ASN1_TIME_free>>;
using integer_ptr = std::unique_ptr<ASN1_INTEGER, deleter<ASN1_INTEGER_free>>;
using names_ptr = std::unique_ptr<GENERAL_NAMES, deleter<GENERAL_NAMES_free>>;

inline void free_extensions(STACK_OF(X509_EXTENSION) * exts) {
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}
inline void free_cert_stack(STACK_OF(X509) * certs) {
  sk_X509_free(certs);
}
using extensions_ptr = std::unique_ptr<STACK_OF(X509_EXTENSION), deleter<free_extensions>>;

[[noreturn]] void fail(const std::string& what);
pkey_ptr make_p256_key();
secret_string key_to_pem(EVP_PKEY* key);
std::string cert_to_pem(X509* cert);
bio_ptr read_bio(std::string_view text);
int no_password(char*, int, int, void*);
pkey_ptr key_from_pem(std::string_view pem, const std::string& what = "the CA private key");
x509_ptr cert_from_pem(const std::string& pem, const std::string& what = "the CA certificate");
std::string der_to_string(unsigned char* der, int size, const char* what);
std::int64_t to_unix(const ASN1_TIME* time);
std::string utf8(const ASN1_STRING* text);
std::string common_name_of(const X509_NAME* name);
std::string ip_text(const ASN1_OCTET_STRING* ip);
std::string ia5_text(const ASN1_IA5STRING* text);
std::string serial_text(const ASN1_INTEGER* serial);

}  // namespace hush::pki::detail
