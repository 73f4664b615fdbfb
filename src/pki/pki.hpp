#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/secret.hpp"

namespace hush::pki {

// A private key and its certificate, both PEM. The key is a secret, held in a secret_string
// (zeroed when freed): write it 0600 and drop it. Move-only, like its key.
struct key_and_cert {
  secret_string key_pem;
  std::string cert_pem;
};

inline constexpr int ca_validity_days = 3650;
// The CA/Browser Forum's ceiling for a server certificate, which browsers enforce.
inline constexpr int max_server_validity_days = 397;
// A member's client certificate: a year by default. No browser rule caps it; 825 days (the old
// CA/Browser Forum ceiling) bounds how long a lost, unrevoked certificate stays good.
inline constexpr int default_client_validity_days = 365;
inline constexpr int max_client_validity_days = 825;
// How long a CRL stays valid. Each revocation rewrites it, so this only bounds how long a club
// that revokes nothing may go without running `hush ca crl`.
inline constexpr int crl_validity_days = max_server_validity_days;
// RSA keys hush signs: at least 2048 bits (NIST SP 800-131A); above 16384 only costs CPU.
inline constexpr int min_rsa_bits = 2048;
inline constexpr int max_rsa_bits = 16384;
// Most host names one signed certificate may carry.
inline constexpr std::size_t max_csr_hosts = 100;
// PBKDF2 (key and certificate bags) and PKCS#12 MAC iterations. The password hush generates
// carries about 113 bits, so this is not what protects it; it protects a password a member
// later chooses when re-exporting, at a cost (tens of ms) no import notices.
inline constexpr int pkcs12_iterations = 100'000;

// A club CA: ECDSA P-256, basicConstraints critical CA:TRUE pathlen:0, keyUsage critical
// keyCertSign + cRLSign, subject and authority key ids. With `permitted_hosts`, also
// nameConstraints (critical) permitting only those names (RFC 5280 4.2.1.10: a DNS name and the
// names below it; an IP address as itself, a /32 or /128; a type no host uses gets a subtree that
// matches nothing usable, "invalid" or 0.0.0.0/32) and EKU serverAuth + clientAuth, so that
// a member who imports the CA as a trusted root trusts it for the club's hosts and nothing else.
// Without, the CA may vouch for any name (as clubs made before this did). Throws
// std::runtime_error, also on a host that is neither a DNS name nor an IP address.
key_and_cert make_ca(const std::string& common_name,
                     const std::vector<std::string>& permitted_hosts = {},
                     int days = ca_validity_days);

// The hosts of `hosts` that `ca_cert_pem`'s name constraints do not permit, as OpenSSL decides
// (NAME_CONSTRAINTS_check), in order; empty when all are permitted or the CA has no constraint.
// Throws std::runtime_error on an unreadable certificate or a malformed host.
std::vector<std::string> hosts_outside(const std::string& ca_cert_pem,
                                       const std::vector<std::string>& hosts);

// A server certificate signed by the CA: ECDSA P-256, SAN with every host (IP addresses as IP
// entries, other names as DNS entries), EKU serverAuth, keyUsage digitalSignature,
// basicConstraints CA:FALSE. Throws std::runtime_error on a bad host name, a host outside the
// CA's name constraints (hosts_outside: the certificate would fail every verification), or a bad
// CA.
// With a `crl_url`, the certificate says where its revocation list is (CRL Distribution Points),
// so that clients and auditors know how to check revocation.
key_and_cert issue_server(const key_and_cert& ca, const std::vector<std::string>& hosts,
                          int days = max_server_validity_days, const std::string& crl_url = "");

// A member's client certificate signed by the CA: ECDSA P-256, subject CN = `member_name`, EKU
// clientAuth, keyUsage digitalSignature, basicConstraints CA:FALSE, a random 159-bit serial, and
// the CRL distribution point when `crl_url` is set. Throws std::runtime_error.
key_and_cert issue_client(const key_and_cert& ca, const std::string& member_name,
                          int days = default_client_validity_days, const std::string& crl_url = "");

// A PKCS#12 bundle (DER) of `leaf`'s key and certificate and the CA certificate, for browsers
// and curl: key and certificate bags encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC),
// integrity by an HMAC-SHA256 MAC, `pkcs12_iterations` each. No RC2, no 3DES, no SHA-1.
// Throws std::runtime_error, also when the key does not match the certificate.
std::string make_pkcs12(const key_and_cert& leaf, const std::string& ca_cert_pem,
                        std::string_view password, const std::string& friendly_name);

// One certificate the CA has revoked: its serial (any form canonical_serial accepts) and when.
struct revoked_entry {
  std::string serial;
  std::int64_t revoked_at = 0;  // unix seconds
};

// The CA's certificate revocation list, DER-encoded: v2, signed by the CA, valid from now for
// `days`, listing every `revoked` certificate with its revocation date, with `crl_number` (> 0)
// as its CRL number. RFC 5280 5.2.3 wants each list's number larger than the one before: the
// caller takes it from a counter that only grows (store::next_crl_number). Throws
// std::runtime_error.
std::string make_crl_der(const key_and_cert& ca, int days, std::int64_t crl_number,
                         const std::vector<revoked_entry>& revoked = {});

// Signs a PEM certificate signing request (openssl req, Python cryptography, ...) as a server
// certificate under hush's policy, and returns the certificate PEM. The CSR's self-signature must
// verify; its key must be RSA of min_rsa_bits..max_rsa_bits, or EC P-256 or P-384. From the CSR
// hush takes only the public key, the subject's common name and the DNS and IP entries of its
// subjectAltName; without a subjectAltName the common name becomes the one DNS (or IP) name, and
// must look like one. A CSR asking for CA:TRUE, for another kind of subjectAltName, or for more
// than `max_csr_hosts` names is refused; every other extension it asks for is ignored. hush sets
// basicConstraints CA:FALSE (critical), keyUsage digitalSignature (+ keyEncipherment for RSA),
// EKU serverAuth, key ids, and the CRL distribution point. `days` is 1 to
// max_server_validity_days. A name outside the CA's name constraints is refused. Throws
// std::runtime_error with the reason.
std::string sign_csr(const key_and_cert& ca, const std::string& csr_pem, int days,
                     const std::string& crl_url = "");

// What `hush cert renew` and `hush doctor` need to know about a certificate.
struct cert_info {
  std::string serial;  // canonical_serial form
  std::string common_name;
  std::vector<std::string> hosts;  // subjectAltName DNS and IP entries, in order, as text
  std::string crl_url;             // the first URI of the CRL distribution points, or empty
  std::int64_t not_before = 0;     // unix seconds
  std::int64_t not_after = 0;
  bool is_ca = false;
  // A CA's nameConstraints: whether it has any, and its permitted DNS and IP subtrees as text
  // ("club.example", "127.0.0.1/32").
  bool name_constrained = false;
  std::vector<std::string> permitted;
};

// Reads the first certificate of a PEM text. Throws std::runtime_error if there is none.
cert_info inspect_cert(const std::string& cert_pem);

// True when the PEM private key is the one whose public half the PEM certificate carries.
// Throws std::runtime_error if either cannot be read.
bool key_matches_cert(std::string_view key_pem, const std::string& cert_pem);

// True when `cert_pem` chains to `ca_cert_pem` (signature, names, CA constraints), validity
// periods aside: expiry is a separate question. Throws std::runtime_error on unreadable input.
bool issued_by(const std::string& cert_pem, const std::string& ca_cert_pem);

struct crl_info {
  std::int64_t last_update = 0;  // unix seconds
  std::int64_t next_update = 0;
  std::size_t revoked = 0;
  std::int64_t number = 0;  // the CRL number, 0 if it has none (or one beyond 63 bits)
  bool signed_by_ca = false;
};

// Reads a DER CRL and checks its signature against the CA. Throws std::runtime_error if it
// cannot be read.
crl_info inspect_crl(const std::string& crl_der, const std::string& ca_cert_pem);

// The canonical text of a certificate serial, as the store records it: lowercase hex, no leading
// zeros, no separators ("0A:1B" and "0x0a1b" both give "a1b"). Accepts upper or lower case, an
// optional 0x, and ':' separators (openssl's forms). Empty when `text` is not a positive serial of
// at most 20 octets. The server can feed it BN_bn2hex of a peer certificate's serial.
std::string canonical_serial(std::string_view text);

// The hosts a new club's server certificate always names.
std::vector<std::string> default_server_hosts();

}  // namespace hush::pki
