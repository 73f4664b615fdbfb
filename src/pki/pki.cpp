#include "pki/pki.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <ctime>
#include <memory>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/openssl_util.hpp"

namespace hush::pki {
using namespace detail;  // NOLINT(google-build-using-namespace): pki/'s own plumbing
namespace {

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

// The parts in which the leaf certificates hush issues differ.
struct leaf_profile {
  std::string common_name;
  std::vector<std::string> hosts;  // subjectAltName DNS or IP entries; none for a client
  const char* key_usage;
  const char* extended_key_usage;
  std::string crl_url;
  int days;
};

std::string san_of(const std::vector<std::string>& hosts);
bool is_ip_address(const std::string& host);
bool is_dns_name(const std::string& host);

// Every leaf: the CA as issuer, basicConstraints CA:FALSE, key ids, the profile's usages, names
// and CRL distribution point, signed with the CA key.
std::string issue_leaf(const key_and_cert& ca, EVP_PKEY* subject_key, const leaf_profile& leaf) {
  // Checked before anything is built: a comma would smuggle in another distribution point.
  if (leaf.crl_url.find_first_of(", \t\r\n") != std::string::npos) {
    throw std::runtime_error("\"" + leaf.crl_url + "\" is not a URL for a CRL");
  }
  const std::string san = san_of(leaf.hosts);
  // A name the CA's constraints forbid would make a certificate that every client refuses: say
  // so now, rather than hand it out.
  if (const auto outside = hosts_outside(ca.cert_pem, leaf.hosts); !outside.empty()) {
    throw std::runtime_error("\"" + outside.front() +
                             "\" is outside the names the club CA may vouch for (its "
                             "nameConstraints); widening them takes a new CA: see "
                             "docs/operations.md, \"Moving to a new CA\"");
  }
  auto ca_key = key_from_pem(ca.key_pem.view());
  auto ca_cert = cert_from_pem(ca.cert_pem);
  auto cert = new_certificate(subject_key, leaf.common_name, leaf.days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  add_extension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca_cert.get(), NID_key_usage, leaf.key_usage);
  add_extension(cert.get(), ca_cert.get(), NID_ext_key_usage, leaf.extended_key_usage);
  if (!san.empty()) {
    add_extension(cert.get(), ca_cert.get(), NID_subject_alt_name, san);
  }
  add_extension(cert.get(), ca_cert.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  if (!leaf.crl_url.empty()) {
    add_extension(cert.get(), ca_cert.get(), NID_crl_distribution_points, "URI:" + leaf.crl_url);
  }
  sign(cert.get(), ca_key.get());
  return cert_to_pem(cert.get());
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

// The subjectAltName value for `hosts`, each checked: "DNS:a,IP:127.0.0.1".
std::string san_of(const std::vector<std::string>& hosts) {
  std::string san;
  for (const auto& host : hosts) {
    const bool ip = is_ip_address(host);
    if (!ip && !is_dns_name(host)) {
      throw std::runtime_error("\"" + host + "\" is not a host name or IP address");
    }
    san += san.empty() ? "" : ",";
    san += (ip ? "IP:" : "DNS:") + host;
  }
  return san;
}

// RSA of min_rsa_bits..max_rsa_bits, or EC on P-256 or P-384: what every browser and TLS library
// accepts, at a strength hush vouches for.
void check_csr_key(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < min_rsa_bits || bits > max_rsa_bits) {
      throw std::runtime_error("the CSR's RSA key has " + std::to_string(bits) +
                               " bits; hush signs RSA keys of " + std::to_string(min_rsa_bits) +
                               " to " + std::to_string(max_rsa_bits) + " bits");
    }
    return;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = "";
    EVP_PKEY_get_group_name(key, group, sizeof group, nullptr);
    const std::string name = group;
    if (name != "prime256v1" && name != "secp384r1") {
      throw std::runtime_error("the CSR's key is on curve \"" + name +
                               "\"; hush signs EC keys on P-256 or P-384 only");
    }
    return;
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  throw std::runtime_error(std::string("the CSR's key type ") + (type ? type : "(unknown)") +
                           " is not accepted; hush signs RSA (2048+) and EC P-256/P-384 keys");
}

// The DNS and IP names a CSR's extension request asks for, after refusing what hush never signs.
std::vector<std::string> csr_hosts(X509_REQ* req) {
  const extensions_ptr exts(X509_REQ_get_extensions(req));
  std::vector<std::string> hosts;
  for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid == NID_basic_constraints) {
      const std::unique_ptr<BASIC_CONSTRAINTS, deleter<BASIC_CONSTRAINTS_free>> bc(
          static_cast<BASIC_CONSTRAINTS*>(X509V3_EXT_d2i(ext)));
      if (!bc) {
        throw std::runtime_error("the CSR's basicConstraints cannot be read");
      }
      if (bc->ca != 0) {
        throw std::runtime_error("the CSR asks for CA:TRUE; hush signs leaf certificates only");
      }
    } else if (nid == NID_subject_alt_name) {
      const names_ptr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
      if (!names) {
        throw std::runtime_error("the CSR's subjectAltName cannot be read");
      }
      for (int n = 0; n < sk_GENERAL_NAME_num(names.get()); ++n) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), n);
        std::string host;
        if (name->type == GEN_DNS) {
          host = ia5_text(name->d.dNSName);
        } else if (name->type == GEN_IPADD) {
          host = ip_text(name->d.iPAddress);
        } else {
          throw std::runtime_error(
              "the CSR asks for a subjectAltName that is neither DNS nor IP; hush signs host "
              "names only");
        }
        if (host.empty() || (name->type == GEN_DNS && !is_dns_name(host))) {
          throw std::runtime_error("the CSR's subjectAltName has a malformed name");
        }
        if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) {
          hosts.push_back(host);
        }
      }
    }
    // Everything else (keyUsage, extendedKeyUsage, nameConstraints, ...) is hush's to decide.
  }
  if (hosts.size() > max_csr_hosts) {
    throw std::runtime_error("the CSR names " + std::to_string(hosts.size()) +
                             " hosts; hush signs at most " + std::to_string(max_csr_hosts));
  }
  return hosts;
}

// The nameConstraints value (OpenSSL's config syntax) permitting exactly `hosts`: a dNSName
// subtree per name, an iPAddress subtree with a full mask per address. Each host is checked first.
std::string permitted_subtrees(const std::vector<std::string>& hosts) {
  std::string value = "critical";
  std::vector<std::string> seen;
  bool has_dns = false;
  bool has_ip = false;
  for (const auto& host : hosts) {
    const bool ip = is_ip_address(host);
    if (!ip && !is_dns_name(host)) {
      throw std::runtime_error("\"" + host + "\" is not a host name or IP address");
    }
    if (std::find(seen.begin(), seen.end(), host) != seen.end()) {
      continue;
    }
    seen.push_back(host);
    has_dns = has_dns || !ip;
    has_ip = has_ip || ip;
    if (!ip) {
      value += ",permitted;DNS:" + host;
    } else if (host.find(':') != std::string::npos) {
      value += ",permitted;IP:" + host + "/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    } else {
      value += ",permitted;IP:" + host + "/255.255.255.255";
    }
  }
  // RFC 5280 leaves a name type with no permitted subtree unconstrained (OpenSSL accepts an IP
  // SAN under a CA that permits DNS names only): a type the club does not use gets a subtree
  // that matches nothing a certificate can usefully name (RFC 6761's "invalid", 0.0.0.0/32).
  if (!has_dns) {
    value += ",permitted;DNS:invalid";
  }
  if (!has_ip) {
    value += ",permitted;IP:0.0.0.0/255.255.255.255";
  }
  return value;
}

}  // namespace

std::vector<std::string> hosts_outside(const std::string& ca_cert_pem,
                                       const std::vector<std::string>& hosts) {
  auto ca_cert = cert_from_pem(ca_cert_pem);
  const std::unique_ptr<NAME_CONSTRAINTS, deleter<NAME_CONSTRAINTS_free>> constraints(
      static_cast<NAME_CONSTRAINTS*>(
          X509_get_ext_d2i(ca_cert.get(), NID_name_constraints, nullptr, nullptr)));
  ERR_clear_error();
  std::vector<std::string> outside;
  if (!constraints) {
    return outside;
  }
  for (const auto& host : hosts) {
    // OpenSSL's own check, on a throwaway certificate that names just this host: the same
    // verdict every OpenSSL client will reach (a DNS constraint also permits the names below it).
    x509_ptr probe(X509_new());
    if (!probe) {
      fail("cannot check a name constraint");
    }
    add_extension(probe.get(), probe.get(), NID_subject_alt_name, san_of({host}));
    // NAME_CONSTRAINTS_check reads the names OpenSSL caches from the extensions: fill the cache.
    X509_get_extension_flags(probe.get());
    if (NAME_CONSTRAINTS_check(probe.get(), constraints.get()) != X509_V_OK) {
      outside.push_back(host);
    }
  }
  ERR_clear_error();
  return outside;
}

std::vector<std::string> default_server_hosts() {
  return {"localhost", "127.0.0.1", "::1"};
}

key_and_cert make_ca(const std::string& common_name,
                     const std::vector<std::string>& permitted_hosts, int days) {
  const std::string constraints =
      permitted_hosts.empty() ? std::string() : permitted_subtrees(permitted_hosts);
  auto key = make_p256_key();
  auto cert = new_certificate(key.get(), common_name, days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  if (!constraints.empty()) {
    // RFC 5280 4.2.1.10: critical, so that a client that cannot apply it refuses the CA rather
    // than trusting it unconstrained. Both name types always have a subtree (permitted_subtrees),
    // so neither DNS nor IP names escape the constraint.
    add_extension(cert.get(), cert.get(), NID_name_constraints, constraints);
    // EKU in a CA limits what it may vouch for in NSS, Windows, macOS and OpenSSL: TLS servers
    // and clients, not signed mail or code.
    add_extension(cert.get(), cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  }
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
  auto key = make_p256_key();
  const leaf_profile leaf{hosts.front(), hosts,   "critical,digitalSignature",
                          "serverAuth",  crl_url, days};
  auto cert_pem = issue_leaf(ca, key.get(), leaf);
  return {key_to_pem(key.get()), std::move(cert_pem)};
}

key_and_cert issue_client(const key_and_cert& ca, const std::string& member_name, int days,
                          const std::string& crl_url) {
  if (days < 1 || days > max_client_validity_days) {
    throw std::runtime_error("client certificate validity must be 1 to " +
                             std::to_string(max_client_validity_days) + " days");
  }
  // RFC 5280's upper bound for a common name.
  constexpr std::size_t max_common_name = 64;
  if (member_name.empty() || member_name.size() > max_common_name) {
    throw std::runtime_error("a client certificate needs a name of 1 to 64 bytes");
  }
  auto key = make_p256_key();
  const leaf_profile leaf{member_name,  {},      "critical,digitalSignature",
                          "clientAuth", crl_url, days};
  auto cert_pem = issue_leaf(ca, key.get(), leaf);
  return {key_to_pem(key.get()), std::move(cert_pem)};
}

std::string make_pkcs12(const key_and_cert& leaf, const std::string& ca_cert_pem,
                        std::string_view password, const std::string& friendly_name) {
  auto key = key_from_pem(leaf.key_pem.view(), "the private key");
  auto cert = cert_from_pem(leaf.cert_pem, "the certificate");
  auto ca_cert = cert_from_pem(ca_cert_pem);
  if (EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()) != 1) {
    throw std::runtime_error("the private key does not match the certificate");
  }
  // The stack does not own the CA certificate: sk_X509_free, not pop_free.
  const std::unique_ptr<STACK_OF(X509), deleter<free_cert_stack>> chain(sk_X509_new_null());
  if (!chain || sk_X509_push(chain.get(), ca_cert.get()) <= 0) {
    fail("out of memory");
  }
  // OpenSSL wants a NUL-terminated password; the copy is wiped below.
  std::string pass(password);
  // An AES cipher NID (not a PKCS#12 PBE NID) makes OpenSSL use PBES2 with PBKDF2-HMAC-SHA256.
  // mac_iter -1: no MAC yet, so that the one added next is HMAC-SHA256 rather than the SHA-1
  // default.
  std::unique_ptr<PKCS12, deleter<PKCS12_free>> p12(
      PKCS12_create(pass.c_str(), friendly_name.c_str(), key.get(), cert.get(), chain.get(),
                    NID_aes_256_cbc, NID_aes_256_cbc, pkcs12_iterations, -1, 0));
  const bool ok = p12 && PKCS12_set_mac(p12.get(), pass.c_str(), -1, nullptr, 0, pkcs12_iterations,
                                        EVP_sha256()) == 1;
  OPENSSL_cleanse(pass.data(), pass.size());
  if (!ok) {
    fail("cannot make the PKCS#12 bundle");
  }
  unsigned char* der = nullptr;
  const int size = i2d_PKCS12(p12.get(), &der);
  return der_to_string(der, size, "the PKCS#12 bundle");
}

std::string sign_csr(const key_and_cert& ca, const std::string& csr_pem, int days,
                     const std::string& crl_url) {
  if (days < 1 || days > max_server_validity_days) {
    throw std::runtime_error("server certificate validity must be 1 to " +
                             std::to_string(max_server_validity_days) + " days");
  }
  auto bio = read_bio(csr_pem);
  const req_ptr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, no_password, nullptr));
  if (!req) {
    ERR_clear_error();
    throw std::runtime_error("not a PEM certificate signing request");
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  // The self-signature proves that whoever asks holds the private key.
  if (key == nullptr || X509_REQ_verify(req.get(), key) != 1) {
    ERR_clear_error();
    throw std::runtime_error("the CSR's signature does not verify");
  }
  check_csr_key(key);
  auto hosts = csr_hosts(req.get());
  std::string common_name = common_name_of(X509_REQ_get_subject_name(req.get()));
  if (hosts.empty()) {
    if (!is_ip_address(common_name) && !is_dns_name(common_name)) {
      throw std::runtime_error(
          "the CSR names no host: no DNS or IP subjectAltName, and its common name is not a host "
          "name");
    }
    hosts.push_back(common_name);
  }
  constexpr std::size_t max_common_name = 64;
  if (common_name.empty() || common_name.size() > max_common_name) {
    common_name = hosts.front().size() <= max_common_name ? hosts.front() : std::string();
  }
  if (common_name.empty()) {
    throw std::runtime_error("the CSR's names are too long for a common name");
  }
  // keyEncipherment only for RSA: an EC key cannot encrypt, and RFC 5480 forbids saying so.
  const char* key_usage = EVP_PKEY_is_a(key, "RSA") ? "critical,digitalSignature,keyEncipherment"
                                                    : "critical,digitalSignature";
  return issue_leaf(ca, key, {common_name, hosts, key_usage, "serverAuth", crl_url, days});
}

std::string make_crl_der(const key_and_cert& ca, int days, std::int64_t crl_number,
                         const std::vector<revoked_entry>& revoked) {
  if (crl_number <= 0) {
    throw std::runtime_error("a CRL number must be positive");
  }
  auto ca_key = key_from_pem(ca.key_pem.view());
  auto ca_cert = cert_from_pem(ca.cert_pem);
  const crl_ptr crl(X509_CRL_new());
  const time_ptr last(ASN1_TIME_new());
  const time_ptr next(ASN1_TIME_new());
  if (!crl || !last || !next || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert.get())) != 1 ||
      X509_gmtime_adj(last.get(), 0) == nullptr ||
      X509_gmtime_adj(next.get(), static_cast<long>(days) * 24 * 60 * 60) == nullptr ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    fail("cannot make a CRL");
  }
  for (const auto& entry : revoked) {
    const auto serial = canonical_serial(entry.serial);
    BIGNUM* number = nullptr;
    if (serial.empty() || BN_hex2bn(&number, serial.c_str()) == 0) {
      throw std::runtime_error("\"" + entry.serial + "\" is not a certificate serial");
    }
    const bn_ptr owned(number);
    const integer_ptr asn1_serial(BN_to_ASN1_INTEGER(number, nullptr));
    const time_ptr when(ASN1_TIME_set(nullptr, static_cast<std::time_t>(entry.revoked_at)));
    X509_REVOKED* item = X509_REVOKED_new();
    if (!asn1_serial || !when || item == nullptr ||
        X509_REVOKED_set_serialNumber(item, asn1_serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(item, when.get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), item) != 1) {
      X509_REVOKED_free(item);
      fail("cannot list a revoked certificate");
    }
  }
  X509_CRL_sort(crl.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca_cert.get(), nullptr, nullptr, crl.get(), 0);
  ext_ptr aki(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  const integer_ptr number(ASN1_INTEGER_new());
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1 || !number ||
      ASN1_INTEGER_set_int64(number.get(), crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    fail("cannot add the CRL extensions");
  }
  if (X509_CRL_sign(crl.get(), ca_key.get(), EVP_sha256()) == 0) {
    fail("cannot sign the CRL");
  }
  unsigned char* der = nullptr;
  const int size = i2d_X509_CRL(crl.get(), &der);
  return der_to_string(der, size, "the CRL");
}

}  // namespace hush::pki
