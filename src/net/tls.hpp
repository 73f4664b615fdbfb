#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>

#include "config/config.hpp"

namespace hush::net {

class tls_alpn_challenges;

// What the server's TLS context is made of: its certificate chain and key and, for client
// certificates, the club CA that issues them and the CA's revocation list (DER).
struct tls_files {
  std::filesystem::path cert_chain;
  std::filesystem::path private_key;
  std::filesystem::path client_ca;
  std::filesystem::path client_crl;
  config::client_cert_mode client_certs = config::client_cert_mode::off;
  // With ACME tls-alpn-01: the challenges the context answers (tls_alpn.hpp), outliving it.
  const tls_alpn_challenges* alpn_challenges = nullptr;
};

// The server's TLS settings: TLS 1.2 and 1.3 only; in 1.2, ECDHE key exchange with AEAD suites
// only (no CBC, no static RSA, no SHA-1 MACs); the server's order of suites; no compression, no
// renegotiation. With client certificates: only the club CA's, for clientAuth, checked against
// its CRL (a revoked or expired certificate fails the handshake); `required` fails the handshake
// of a client that has none. Throws std::runtime_error naming the file at fault.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const tls_files& files);

// Ends the cached TLS sessions whose lifetime has passed, wiping their secrets. OpenSSL does so
// only every 255 handshakes; a quiet server calls this now and then so that a session's secret
// does not outlive its lifetime by much. Thread safe.
void flush_expired_sessions(boost::asio::ssl::context& ctx);

// Call before a server connection's SSL is freed. A connection that ends without our close_notify
// (the client just closed its socket, as browsers and `openssl s_time` do; a timeout) would make
// OpenSSL drop its session from the cache, and with stateful resumption that client could not
// resume. SSL 3.0 and TLS 1.0 asked for that; TLS 1.1 and later (RFC 5246 7.2.1) do not, and
// nginx keeps such sessions too. Only a session whose handshake completed is kept.
void keep_session_resumable(SSL* ssl);

// The context new connections take. Replaced whole when the files change (hush cert renew,
// hush ca crl), so connections already open keep theirs and none is dropped. Thread safe.
class tls_context_holder {
 public:
  explicit tls_context_holder(std::shared_ptr<boost::asio::ssl::context> initial)
      : current_(std::move(initial)) {}

  std::shared_ptr<boost::asio::ssl::context> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void replace(std::shared_ptr<boost::asio::ssl::context> next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

// The client certificate the handshake verified, if there was one: its serial (in
// pki::canonical_serial's form) and subject common name, which is the member's name.
struct peer_identity {
  std::string serial;
  std::string common_name;
};
std::optional<peer_identity> verified_peer(SSL* ssl);

// After a failed handshake: the client certificate it refused, if that is why it failed (the
// subject's common name, as the client claimed it, and OpenSSL's reason: "certificate revoked").
struct refused_certificate {
  std::string common_name;
  std::string reason;
};
std::optional<refused_certificate> refused_peer(SSL* ssl);

}  // namespace hush::net
