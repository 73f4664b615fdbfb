#include "acme/tls_alpn.hpp"

#include <array>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "acme/jws.hpp"
#include "pki/openssl_util.hpp"

namespace hush::acme {
namespace {

using pki::detail::ext_ptr;
using pki::detail::fail;
using pki::detail::x509_ptr;

constexpr const char* acme_identifier_oid = "1.3.6.1.5.5.7.1.31";
// A validation takes seconds; the margins cover a CA whose clock is off.
constexpr long valid_before_seconds = 24L * 60 * 60;
constexpr long valid_after_seconds = 7L * 24 * 60 * 60;
constexpr std::size_t serial_bytes = 16;

using object_ptr = std::unique_ptr<ASN1_OBJECT, pki::detail::deleter<ASN1_OBJECT_free>>;
using octets_ptr = std::unique_ptr<ASN1_OCTET_STRING, pki::detail::deleter<ASN1_OCTET_STRING_free>>;

// The acmeIdentifier extension: its value is the DER of an OCTET STRING of the 32-byte digest.
ext_ptr acme_identifier(std::string_view key_authorization) {
  std::array<unsigned char, 2 + SHA256_DIGEST_LENGTH> der{0x04, SHA256_DIGEST_LENGTH};
  SHA256(reinterpret_cast<const unsigned char*>(key_authorization.data()), key_authorization.size(),
         der.data() + 2);
  const object_ptr oid(OBJ_txt2obj(acme_identifier_oid, 1));
  const octets_ptr value(ASN1_OCTET_STRING_new());
  if (!oid || !value || ASN1_OCTET_STRING_set(value.get(), der.data(), der.size()) != 1) {
    fail("cannot encode the acmeIdentifier extension");
  }
  ext_ptr extension(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
  if (!extension) {
    fail("cannot encode the acmeIdentifier extension");
  }
  return extension;
}

}  // namespace

challenge_certificate make_tls_alpn_certificate(const std::string& host,
                                                std::string_view key_authorization) {
  if (host.empty() || is_ip_address(host) || host.find_first_of(", \t\r\n") != std::string::npos) {
    throw std::runtime_error("tls-alpn-01 answers for host names only, not \"" + host + "\"");
  }
  auto key = pki::detail::make_p256_key();
  x509_ptr cert(X509_new());
  std::array<unsigned char, serial_bytes> serial{};
  if (!cert || RAND_bytes(serial.data(), serial.size()) != 1) {
    fail("cannot make a challenge certificate");
  }
  serial[0] &= 0x7fU;  // positive
  serial[0] |= 0x01U;  // and of full length
  const pki::detail::bn_ptr serial_number(BN_bin2bn(serial.data(), serial.size(), nullptr));
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!serial_number || X509_set_version(cert.get(), 2) != 1 ||
      BN_to_ASN1_INTEGER(serial_number.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -valid_before_seconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), valid_after_seconds) == nullptr ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("ACME challenge"), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1) {
    fail("cannot make a challenge certificate");
  }
  // Appended piece by piece: gcc 12 at -O3 sees a false overlap in "DNS:" + host (-Wrestrict).
  std::string san = "DNS:";
  san += host;
  const ext_ptr names(X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str()));
  const auto identifier = acme_identifier(key_authorization);
  if (!names || X509_add_ext(cert.get(), names.get(), -1) != 1 ||
      X509_add_ext(cert.get(), identifier.get(), -1) != 1 ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    fail("cannot make a challenge certificate");
  }
  return {pki::detail::cert_to_pem(cert.get()), pki::detail::key_to_pem(key.get())};
}

}  // namespace hush::acme
