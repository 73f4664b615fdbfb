#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

namespace hush::net {

// The answers to ACME tls-alpn-01 challenges (RFC 8737) that the server's own TLS port gives
// while a CA validates them: a handshake that offers the ALPN protocol acme-tls/1 and names one
// of these hosts (SNI) is given that host's challenge certificate, negotiates acme-tls/1 and then
// carries nothing: the connection closes. Every other handshake is untouched. Thread safe: the
// ACME client sets and erases while I/O threads read.
class tls_alpn_challenges {
 public:
  // Answers for `host` (a host name, any case) with this certificate and key from now on.
  // Throws std::runtime_error when they do not parse or do not match.
  void set(const std::string& host, std::string_view cert_pem, std::string_view key_pem);
  void erase(const std::string& host);

  struct answer;
  std::shared_ptr<const answer> find(std::string_view host) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const answer>, std::less<>> answers_;
};

// Makes the server context `ctx` give `challenges`' answers. They must outlive it.
void answer_tls_alpn_challenges(SSL_CTX* ctx, const tls_alpn_challenges& challenges);

// True for a connection whose ClientHello asked for a challenge's answer (whatever the handshake
// then negotiated): it was not asked for a client certificate, the CA has seen what it came for,
// and it carries no HTTP.
bool is_tls_alpn_challenge(SSL* ssl);

}  // namespace hush::net
