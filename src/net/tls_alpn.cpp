#include "net/tls_alpn.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/tls1.h>
#include <openssl/x509.h>

#include "core/text.hpp"
namespace hush::net {

struct tls_alpn_challenges::answer {
  std::shared_ptr<X509> cert;
  std::shared_ptr<EVP_PKEY> key;
};

namespace {

constexpr std::string_view acme_tls_protocol = "acme-tls/1";
// A challenge connection's session must never resume an ordinary one, nor the reverse:
// resumption requires the same session id context.
constexpr unsigned char challenge_session_context[] = "hush-acme-tls-alpn";

// A byte reader over an extension's body that never reads past its end.
struct reader {
  const unsigned char* at;
  std::size_t left;

  bool take(std::size_t n, std::string_view& out) {
    if (n > left) {
      return false;
    }
    out = {reinterpret_cast<const char*>(at), n};
    at += n;
    left -= n;
    return true;
  }
  bool number(std::size_t bytes, std::size_t& out) {
    std::string_view raw;
    if (!take(bytes, raw)) {
      return false;
    }
    out = 0;
    for (const char c : raw) {
      out = (out << 8U) | static_cast<unsigned char>(c);
    }
    return true;
  }
};

// Whether an ALPN protocol list (RFC 7301 §3.1: a 2-byte length, then 1-byte-length names)
// offers acme-tls/1.
bool offers_acme_tls(const unsigned char* data, std::size_t size) {
  reader in{data, size};
  std::size_t list_size = 0;
  if (!in.number(2, list_size) || list_size != in.left) {
    return false;
  }
  while (in.left > 0) {
    std::size_t name_size = 0;
    std::string_view name;
    if (!in.number(1, name_size) || !in.take(name_size, name)) {
      return false;
    }
    if (name == acme_tls_protocol) {
      return true;
    }
  }
  return false;
}

// The host_name of a server_name extension (RFC 6066 §3), or "".
std::string server_name(const unsigned char* data, std::size_t size) {
  reader in{data, size};
  std::size_t list_size = 0;
  std::size_t type = 0;
  std::size_t name_size = 0;
  std::string_view name;
  if (!in.number(2, list_size) || list_size != in.left || !in.number(1, type) || type != 0 ||
      !in.number(2, name_size) || !in.take(name_size, name)) {
    return {};
  }
  return ascii_lower(name);
}

int challenge_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
// What the challenge index holds on a challenge connection: any pointer that is not null.
char challenge_mark;

bool marked_as_challenge(SSL* ssl) {
  return SSL_get_ex_data(ssl, challenge_index()) != nullptr;
}

// The answer this ClientHello asks for: acme-tls/1 offered for a name with a challenge in flight.
std::shared_ptr<const tls_alpn_challenges::answer> asked_for(
    SSL* ssl, const tls_alpn_challenges& challenges) {
  const unsigned char* alpn = nullptr;
  std::size_t alpn_size = 0;
  const unsigned char* sni = nullptr;
  std::size_t sni_size = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &alpn,
                                &alpn_size) != 1 ||
      !offers_acme_tls(alpn, alpn_size) ||
      SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &sni, &sni_size) != 1) {
    return nullptr;
  }
  return challenges.find(server_name(sni, sni_size));
}

int on_client_hello(SSL* ssl, int* alert, void* arg) {
  const auto& challenges = *static_cast<const tls_alpn_challenges*>(arg);
  const auto found = asked_for(ssl, challenges);
  if (marked_as_challenge(ssl)) {
    // The second ClientHello after a HelloRetryRequest: the connection was made a challenge's
    // (no client certificate asked for) by the first, and only the same request may go on. One
    // that drops acme-tls/1 now would otherwise finish an ordinary handshake without the client
    // certificate the club requires.
    if (!found) {
      *alert = SSL_AD_HANDSHAKE_FAILURE;
      return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  if (!found) {
    return SSL_CLIENT_HELLO_SUCCESS;  // not a validation: an ordinary handshake
  }
  // The CA's validator presents no client certificate, whatever the club requires of members.
  SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
  // The challenge certificate alone, without the server's own chain (RFC 8737 §3).
  if (SSL_use_certificate(ssl, found->cert.get()) != 1 ||
      SSL_ctrl(ssl, SSL_CTRL_CHAIN, 0, nullptr) != 1 ||
      SSL_use_PrivateKey(ssl, found->key.get()) != 1 ||
      SSL_set_session_id_context(ssl, challenge_session_context,
                                 sizeof challenge_session_context - 1) != 1 ||
      SSL_set_ex_data(ssl, challenge_index(), &challenge_mark) != 1) {
    ERR_clear_error();
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

// ALPN is negotiated only on a challenge connection: everything else is HTTP/1.1 without ALPN,
// as before.
int select_protocol(SSL* ssl, const unsigned char** out, unsigned char* out_size,
                    const unsigned char* in, unsigned int in_size, void* /*arg*/) {
  if (!marked_as_challenge(ssl)) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  for (unsigned int at = 0; at < in_size;) {
    const unsigned int size = in[at];
    if (at + 1 + size > in_size) {
      break;
    }
    if (std::string_view(reinterpret_cast<const char*>(in + at + 1), size) == acme_tls_protocol) {
      *out = in + at + 1;
      *out_size = static_cast<unsigned char>(size);
      return SSL_TLSEXT_ERR_OK;
    }
    at += 1 + size;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

}  // namespace

void tls_alpn_challenges::set(const std::string& host, std::string_view cert_pem,
                              std::string_view key_pem) {
  const std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), BIO_free);
  const std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), BIO_free);
  auto made = std::make_shared<answer>();
  if (cert_bio && key_bio) {
    made->cert.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), X509_free);
    made->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr),
                    EVP_PKEY_free);
  }
  if (!made->cert || !made->key || X509_check_private_key(made->cert.get(), made->key.get()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("the tls-alpn-01 challenge certificate for " + host +
                             " does not match its key");
  }
  std::lock_guard lock(mutex_);
  answers_[ascii_lower(host)] = std::move(made);
}

void tls_alpn_challenges::erase(const std::string& host) {
  std::lock_guard lock(mutex_);
  answers_.erase(ascii_lower(host));
}

std::shared_ptr<const tls_alpn_challenges::answer> tls_alpn_challenges::find(
    std::string_view host) const {
  std::lock_guard lock(mutex_);
  const auto found = answers_.find(host);
  return found == answers_.end() ? nullptr : found->second;
}

void answer_tls_alpn_challenges(SSL_CTX* ctx, const tls_alpn_challenges& challenges) {
  // OpenSSL's callbacks take a void*, and never write through it.
  void* arg = const_cast<tls_alpn_challenges*>(&challenges);
  SSL_CTX_set_client_hello_cb(ctx, on_client_hello, arg);
  SSL_CTX_set_alpn_select_cb(ctx, select_protocol, nullptr);
}

bool is_tls_alpn_challenge(SSL* ssl) {
  // Marked by the ClientHello, whatever was negotiated: such a connection was never asked for a
  // client certificate, so it must never carry HTTP.
  return ssl != nullptr && marked_as_challenge(ssl);
}

}  // namespace hush::net
