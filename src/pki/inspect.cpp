#include <cctype>
#include <memory>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/openssl_util.hpp"
#include "pki/pki.hpp"

// Reading certificates, keys and CRLs back: what `hush cert renew`, `hush doctor` and the server
// need to know about files the CA wrote earlier.
namespace hush::pki {
using namespace detail;  // NOLINT(google-build-using-namespace): pki/'s own plumbing
namespace {

// An iPAddress subtree (address then mask, 8 or 32 octets) as "127.0.0.1/32"; empty otherwise.
std::string subtree_text(const ASN1_OCTET_STRING* subtree) {
  const int size = ASN1_STRING_length(subtree);
  if (size != 8 && size != 32) {
    return {};
  }
  const unsigned char* bytes = ASN1_STRING_get0_data(subtree);
  const auto half = static_cast<std::size_t>(size / 2);
  const std::unique_ptr<ASN1_OCTET_STRING, deleter<ASN1_OCTET_STRING_free>> address(
      ASN1_OCTET_STRING_new());
  if (!address || ASN1_OCTET_STRING_set(address.get(), bytes, static_cast<int>(half)) != 1) {
    return {};
  }
  int prefix = 0;
  for (std::size_t i = half; i < 2 * half; ++i) {
    for (unsigned bit = 0x80; bit != 0; bit >>= 1) {
      prefix += (bytes[i] & bit) != 0 ? 1 : 0;
    }
  }
  return ip_text(address.get()) + "/" + std::to_string(prefix);
}

}  // namespace

cert_info inspect_cert(const std::string& cert_pem) {
  auto cert = cert_from_pem(cert_pem, "the certificate");
  cert_info info;
  info.serial = serial_text(X509_get0_serialNumber(cert.get()));
  info.common_name = common_name_of(X509_get_subject_name(cert.get()));
  info.not_before = to_unix(X509_get0_notBefore(cert.get()));
  info.not_after = to_unix(X509_get0_notAfter(cert.get()));
  info.is_ca = X509_check_ca(cert.get()) != 0;
  const names_ptr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    std::string host = name->type == GEN_DNS     ? ia5_text(name->d.dNSName)
                       : name->type == GEN_IPADD ? ip_text(name->d.iPAddress)
                                                 : std::string();
    if (!host.empty()) {
      info.hosts.push_back(std::move(host));
    }
  }
  const std::unique_ptr<CRL_DIST_POINTS, deleter<CRL_DIST_POINTS_free>> points(
      static_cast<CRL_DIST_POINTS*>(
          X509_get_ext_d2i(cert.get(), NID_crl_distribution_points, nullptr, nullptr)));
  for (int i = 0; info.crl_url.empty() && i < sk_DIST_POINT_num(points.get()); ++i) {
    const DIST_POINT* point = sk_DIST_POINT_value(points.get(), i);
    if (point->distpoint == nullptr || point->distpoint->type != 0) {
      continue;
    }
    const GENERAL_NAMES* full = point->distpoint->name.fullname;
    for (int n = 0; n < sk_GENERAL_NAME_num(full); ++n) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(full, n);
      if (name->type == GEN_URI) {
        info.crl_url = ia5_text(name->d.uniformResourceIdentifier);
        break;
      }
    }
  }
  const std::unique_ptr<NAME_CONSTRAINTS, deleter<NAME_CONSTRAINTS_free>> constraints(
      static_cast<NAME_CONSTRAINTS*>(
          X509_get_ext_d2i(cert.get(), NID_name_constraints, nullptr, nullptr)));
  info.name_constrained = constraints != nullptr;
  for (int i = 0; constraints && i < sk_GENERAL_SUBTREE_num(constraints->permittedSubtrees); ++i) {
    const GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(constraints->permittedSubtrees, i)->base;
    if (base->type == GEN_DNS) {
      info.permitted.push_back(ia5_text(base->d.dNSName));
    } else if (base->type == GEN_IPADD) {
      info.permitted.push_back(subtree_text(base->d.iPAddress));
    }
  }
  ERR_clear_error();
  return info;
}

bool key_matches_cert(std::string_view key_pem, const std::string& cert_pem) {
  auto key = key_from_pem(key_pem, "the private key");
  auto cert = cert_from_pem(cert_pem, "the certificate");
  return EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()) == 1;
}

bool issued_by(const std::string& cert_pem, const std::string& ca_cert_pem) {
  auto cert = cert_from_pem(cert_pem, "the certificate");
  auto ca_cert = cert_from_pem(ca_cert_pem);
  const std::unique_ptr<X509_STORE, deleter<X509_STORE_free>> store(X509_STORE_new());
  const std::unique_ptr<X509_STORE_CTX, deleter<X509_STORE_CTX_free>> ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca_cert.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    fail("cannot check a certificate chain");
  }
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
  const bool ok = X509_verify_cert(ctx.get()) == 1;
  ERR_clear_error();
  return ok;
}

crl_info inspect_crl(const std::string& crl_der, const std::string& ca_cert_pem) {
  auto ca_cert = cert_from_pem(ca_cert_pem);
  const auto* p = reinterpret_cast<const unsigned char*>(crl_der.data());
  const crl_ptr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl_der.size())));
  if (!crl) {
    fail("cannot read the CRL");
  }
  crl_info info;
  info.last_update = to_unix(X509_CRL_get0_lastUpdate(crl.get()));
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
  info.next_update = next != nullptr ? to_unix(next) : 0;
  const int count = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get()));
  info.revoked = count > 0 ? static_cast<std::size_t>(count) : 0;
  const integer_ptr number(static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr)));
  if (!number || ASN1_INTEGER_get_int64(&info.number, number.get()) != 1) {
    info.number = 0;
  }
  info.signed_by_ca =
      X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca_cert.get())) == 0 &&
      X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_cert.get())) == 1;
  ERR_clear_error();
  return info;
}

std::string canonical_serial(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  std::string hex;
  for (const char c : text) {
    if (c == ':') {
      continue;
    }
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) {
      return {};
    }
    if (hex.empty() && c == '0') {
      continue;
    }
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  // RFC 5280: at most 20 octets.
  constexpr std::size_t max_serial_hex = 40;
  if (hex.empty() || hex.size() > max_serial_hex) {
    return {};
  }
  return hex;
}

}  // namespace hush::pki
