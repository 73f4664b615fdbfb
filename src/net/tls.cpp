#include "net/tls.hpp"

#include <ctime>
#include <memory>
#include <stdexcept>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "core/files.hpp"
#include "net/tls_alpn.hpp"
#include "pki/pki.hpp"

namespace hush::net {
namespace {

// TLS 1.2: forward-secret AEAD suites for the ECDSA certificates a club uses. TLS 1.3 suites are
// all AEAD and forward-secret already; ours are listed strongest first.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256";
constexpr const char* tls13_suites =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
constexpr const char* groups = "X25519:P-256:P-384";
// Sessions resumed under client verification must come from this server's own contexts.
constexpr unsigned char session_id_context[] = "hush-club";
// Resumption is stateful (see make_server_context): the server's session cache holds at most
// this many sessions, the oldest leaving first when it is full (a client whose session left does
// a full handshake), and a session lives at most this long. A cached session holds its master
// secret in memory until it ends, so the lifetime bounds how far back a memory read reaches.
constexpr long session_cache_size = 10'000;
constexpr long session_lifetime_seconds = 60 * 60;

// A null password callback: an encrypted key fails here rather than prompting on a terminal.
int no_password(char*, int, int, void*) {
  return -1;
}

// The key is read once, through files::read_secret (no link, a regular private file of ours, the
// checks made on the descriptor that is read), and handed to OpenSSL from memory: no second open
// by path that a swapped file could answer.
void use_private_key(SSL_CTX* native, const std::filesystem::path& path) {
  const auto pem = files::read_secret(path);
  const std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr) : nullptr,
      EVP_PKEY_free);
  if (!key || SSL_CTX_use_PrivateKey(native, key.get()) != 1) {
    ERR_clear_error();
    throw std::runtime_error(path.string() + ": cannot load the private key (not a PEM key)");
  }
}

X509* read_pem_certificate(const std::filesystem::path& path) {
  const std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), BIO_free);
  return bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
}

// A CRL past its nextUpdate (a club where nothing was revoked for 397 days) must not lock every
// member out: the store, which the authenticator asks on every request, has the final word on
// revocation anyway. Every other verification error stands.
// The subject's common name (the first, if several), or "".
std::string common_name_of(X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) {
    return {};
  }
  const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int size = ASN1_STRING_to_UTF8(&utf8, cn);
  if (size < 0) {
    return {};
  }
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(size));
  OPENSSL_free(utf8);
  return out;
}

// Where a refused client certificate's common name is kept on its connection: OpenSSL 3 drops a
// peer certificate that failed verification, and the log's cert-refused line should name it.
int refused_name_index() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* name, CRYPTO_EX_DATA*, int, long, void*) { OPENSSL_free(name); });
  return index;
}

int tolerate_lapsed_crl(int preverify_ok, X509_STORE_CTX* ctx) {
  if (preverify_ok == 0 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CRL_HAS_EXPIRED) {
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
  }
  if (preverify_ok == 0) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    X509* leaf = X509_STORE_CTX_get0_cert(ctx);
    if (ssl != nullptr && leaf != nullptr &&
        SSL_get_ex_data(ssl, refused_name_index()) == nullptr) {
      const auto name = common_name_of(leaf);
      SSL_set_ex_data(ssl, refused_name_index(), OPENSSL_strdup(name.c_str()));
    }
  }
  return preverify_ok;
}

void trust_club_clients(SSL_CTX* native, const tls_files& files) {
  if (SSL_CTX_load_verify_locations(native, files.client_ca.c_str(), nullptr) != 1) {
    throw std::runtime_error(files.client_ca.string() + ": cannot load the club CA");
  }
  // The CertificateRequest names the club CA, so a client offers only a certificate it issued.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
  if (names == nullptr) {
    throw std::runtime_error(files.client_ca.string() + ": cannot read the club CA's name");
  }
  SSL_CTX_set_client_CA_list(native, names);

  // Revocation is checked in the handshake: without a CRL every client certificate would fail,
  // so a missing or unreadable one refuses to start rather than locking every member out.
  const auto der = files::read_text(files.client_crl);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  if (crl == nullptr) {
    throw std::runtime_error(files.client_crl.string() + ": not a DER certificate revocation list");
  }
  const std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl_owner(crl, X509_CRL_free);
  // A list signed by another CA would make OpenSSL fail every client: refuse it here instead.
  const std::unique_ptr<X509, decltype(&X509_free)> ca(read_pem_certificate(files.client_ca),
                                                       X509_free);
  if (!ca || X509_CRL_verify(crl, X509_get0_pubkey(ca.get())) != 1) {
    ERR_clear_error();
    throw std::runtime_error(files.client_crl.string() + ": not signed by the club CA in " +
                             files.client_ca.string());
  }
  X509_STORE* store = SSL_CTX_get_cert_store(native);
  if (X509_STORE_add_crl(store, crl) != 1) {
    ERR_clear_error();
    throw std::runtime_error(files.client_crl.string() + ": cannot use the revocation list");
  }
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  // Only certificates made for clients (EKU clientAuth), straight from the club CA.
  X509_STORE_set_purpose(store, X509_PURPOSE_SSL_CLIENT);
  SSL_CTX_set_verify_depth(native, 1);
  // A member's certificate names the member (CN = "ann.lee"), not a host. Under a name-constrained
  // club CA, OpenSSL would otherwise read a dotted CN as a DNS name, find it outside the club's
  // hosts and refuse the member (x509_vfy.c, NAME_CONSTRAINTS_check_CN); the DNS and IP names a
  // certificate carries are still checked against the constraints.
  X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(native), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);

  int mode = SSL_VERIFY_PEER;
  if (files.client_certs == config::client_cert_mode::required) {
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(native, mode, tolerate_lapsed_crl);
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> make_server_context(const tls_files& files) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(native, tls13_suites) != 1 ||
      SSL_CTX_set1_groups_list(native, groups) != 1 ||
      SSL_CTX_set_session_id_context(native, session_id_context, sizeof session_id_context - 1) !=
          1) {
    throw std::runtime_error("cannot apply the TLS settings");
  }
  // SSLv2 and a fresh ECDH key per handshake need no flag: OpenSSL 3 has no SSLv2 and always does
  // the latter (SSL_OP_NO_SSLv2 and SSL_OP_SINGLE_ECDH_USE are 0 there).
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_SSLv3 |
                                  SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
  // Saves about 34 KiB per idle connection: buffers are taken while data moves and given back.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // Records are decrypted in place in OpenSSL's read buffer, which is given back (above) once
  // read: their plaintext is zeroed once read, as hush zeroes its own copies of a request.
  SSL_CTX_set_options(native, SSL_OP_CLEANSE_PLAINTEXT);
  // No stateless session tickets. A TLS 1.2 ticket is the session's master secret sealed under a
  // ticket key that lives as long as this context (up to a year); whoever reads that one key
  // from memory opens every recorded 1.2 session that got a ticket. Without them TLS 1.2 resumes
  // by session id from the server's cache, and OpenSSL gives TLS 1.3 clients stateful tickets
  // (an id into the same cache; 1.3 resumption also runs a fresh ECDHE). A secret then lives
  // only as long as its cached session, and is wiped when the session leaves the cache.
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(native, session_cache_size);
  SSL_CTX_set_timeout(native, session_lifetime_seconds);

  boost::system::error_code ec;
  ctx->use_certificate_chain_file(files.cert_chain.string(), ec);
  if (ec) {
    throw std::runtime_error(files.cert_chain.string() +
                             ": cannot load certificate: " + ec.message());
  }
  use_private_key(native, files.private_key);
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    throw std::runtime_error(files.private_key.string() + ": key does not match " +
                             files.cert_chain.string());
  }
  if (files.client_certs != config::client_cert_mode::off) {
    trust_club_clients(native, files);
  }
  if (files.alpn_challenges != nullptr) {
    answer_tls_alpn_challenges(native, *files.alpn_challenges);
  }
  return ctx;
}

void flush_expired_sessions(boost::asio::ssl::context& ctx) {
  SSL_CTX_flush_sessions(ctx.native_handle(), static_cast<long>(std::time(nullptr)));
}

void keep_session_resumable(SSL* ssl) {
  if (ssl != nullptr && SSL_is_init_finished(ssl) == 1) {
    SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
}

std::optional<refused_certificate> refused_peer(SSL* ssl) {
  if (ssl == nullptr) {
    return std::nullopt;
  }
  const long verdict = SSL_get_verify_result(ssl);
  if (verdict == X509_V_OK) {
    return std::nullopt;
  }
  refused_certificate out;
  out.reason = X509_verify_cert_error_string(verdict);
  if (const auto* name = static_cast<const char*>(SSL_get_ex_data(ssl, refused_name_index()))) {
    out.common_name = name;
  } else if (X509* peer = SSL_get0_peer_certificate(ssl); peer != nullptr) {
    out.common_name = common_name_of(peer);
  }
  return out;
}

std::optional<peer_identity> verified_peer(SSL* ssl) {
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
    return std::nullopt;
  }
  peer_identity out;
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), nullptr);
  if (serial == nullptr) {
    return std::nullopt;
  }
  char* hex = BN_bn2hex(serial);
  BN_free(serial);
  if (hex == nullptr) {
    return std::nullopt;
  }
  out.serial = pki::canonical_serial(hex);
  OPENSSL_free(hex);

  const X509_NAME* subject = X509_get_subject_name(peer);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) {
    return std::nullopt;  // none, or two: not a certificate the club issued
  }
  const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int size = ASN1_STRING_to_UTF8(&utf8, cn);
  if (size < 0) {
    return std::nullopt;
  }
  out.common_name.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(size));
  OPENSSL_free(utf8);
  if (out.serial.empty()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace hush::net
