#pragma once

#include <string>
#include <vector>

namespace hush::pki {

// A private key and its certificate, both PEM. The key is a secret: write it 0600 and drop it.
struct key_and_cert {
  std::string key_pem;
  std::string cert_pem;
};

inline constexpr int ca_validity_days = 3650;
// The CA/Browser Forum's ceiling for a server certificate, which browsers enforce.
inline constexpr int max_server_validity_days = 397;

// A club CA: ECDSA P-256, basicConstraints critical CA:TRUE pathlen:0, keyUsage critical
// keyCertSign + cRLSign, subject and authority key ids. Throws std::runtime_error.
key_and_cert make_ca(const std::string& common_name, int days = ca_validity_days);

// A server certificate signed by the CA: ECDSA P-256, SAN with every host (IP addresses as IP
// entries, other names as DNS entries), EKU serverAuth, keyUsage digitalSignature,
// basicConstraints CA:FALSE. Throws std::runtime_error on a bad host name or a bad CA.
// With a `crl_url`, the certificate says where its revocation list is (CRL Distribution Points),
// so that clients and auditors know how to check revocation.
key_and_cert issue_server(const key_and_cert& ca, const std::vector<std::string>& hosts,
                          int days = max_server_validity_days, const std::string& crl_url = "");

// The CA's certificate revocation list, DER-encoded: v2, signed by the CA, valid from now for
// `days`, listing no revoked certificate yet (client certificates, which can be revoked, come
// later). Throws std::runtime_error.
std::string make_crl_der(const key_and_cert& ca, int days);

// The hosts a new club's server certificate always names.
std::vector<std::string> default_server_hosts();

}  // namespace hush::pki
