#pragma once

#include <string>
#include <string_view>

#include "core/secret.hpp"

namespace hush::acme {

// The ALPN protocol name a tls-alpn-01 validation offers, and nothing else (RFC 8737 §6.2).
inline constexpr std::string_view tls_alpn_protocol = "acme-tls/1";

// The certificate that answers a tls-alpn-01 challenge for `host` (RFC 8737 §3): self-signed, for
// a key of its own (P-256), naming `host` alone in subjectAltName, with the critical
// acmeIdentifier extension (1.3.6.1.5.5.7.1.31) that holds SHA-256(`key_authorization`) as a DER
// OCTET STRING. It proves control of the TLS port and vouches for nothing: no client ever trusts
// it. Throws std::runtime_error (an IP address: RFC 8738 names those by a reverse-DNS SNI, which
// hush does not answer).
struct challenge_certificate {
  std::string cert_pem;
  secret_string key_pem;
};
challenge_certificate make_tls_alpn_certificate(const std::string& host,
                                                std::string_view key_authorization);

}  // namespace hush::acme
