#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/secret.hpp"

namespace hush::acme {

// True for an IPv4 or IPv6 address in text form: ACME names it an "ip" identifier (RFC 8738)
// and a CSR an IP entry, where a host name is "dns" and a DNS entry.
bool is_ip_address(const std::string& host);

// Base64url without padding (RFC 7515 §2), as JWS and ACME write every binary value.
std::string base64url(std::string_view bytes);

// The ACME account's key: ECDSA P-256, signing requests as JWS with ES256 (RFC 7518 §3.4).
class account_key {
 public:
  // A new key. Throws std::runtime_error.
  static account_key generate();
  // A key from its PEM (PKCS#8 or SEC 1). Throws std::runtime_error.
  static account_key from_pem(std::string_view pem);

  account_key(account_key&&) noexcept;
  account_key& operator=(account_key&&) noexcept;
  account_key(const account_key&) = delete;
  account_key& operator=(const account_key&) = delete;
  ~account_key();

  secret_string pem() const;
  // The public key as a JWK in the canonical member order of RFC 7638 §3.2:
  // {"crv":"P-256","kty":"EC","x":"...","y":"..."}.
  const std::string& jwk() const { return jwk_; }
  // base64url(SHA-256(jwk())), the key's RFC 7638 thumbprint, which key authorizations end with.
  std::string thumbprint() const;
  // A flattened JWS JSON serialization (RFC 7515 §7.2.2) of `payload` under `protected_header`
  // (a JSON object, as text), signed with ES256. An empty payload is ACME's POST-as-GET.
  std::string sign(std::string_view protected_header, std::string_view payload) const;

 private:
  explicit account_key(void* key);
  void* key_ = nullptr;  // EVP_PKEY, kept out of the header
  std::string jwk_;
};

// A new server key (ECDSA P-256) and a certificate signing request for `hosts` (the first as the
// subject's common name, all of them in subjectAltName: IP addresses as IP entries, other names
// as DNS entries), the CSR as DER, as ACME's finalize wants it. Throws std::runtime_error.
struct key_and_csr {
  secret_string key_pem;
  std::string csr_der;
};
key_and_csr make_csr(const std::vector<std::string>& hosts);

}  // namespace hush::acme
