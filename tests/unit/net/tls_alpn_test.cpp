#include "net/tls_alpn.hpp"

#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "acme/tls_alpn.hpp"
#include "core/files.hpp"
#include "net/tls.hpp"
#include "pki/pki.hpp"
#include "support/temp_dir.hpp"

// The server's answer to ACME tls-alpn-01 (RFC 8737), by real handshakes in memory: a client
// that offers acme-tls/1 for a host with a challenge gets the challenge certificate and the
// protocol; every other client (no acme-tls/1, another name, no name, the challenge withdrawn)
// gets the server's own certificate and no ALPN at all, as before. Also with client certificates
// required: the CA's validator has none.

namespace hush::net {
namespace {

using ssl_ptr = std::unique_ptr<SSL, decltype(&SSL_free)>;
using ctx_ptr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

struct outcome {
  bool done = false;
  int chain_length = 0;          // certificates the server sent
  std::string subject_alt_name;  // the first DNS name of the certificate the server presented
  std::string alpn;              // the protocol negotiated, or ""
  bool server_says_challenge = false;
};

// A client that drops its ALPN list from the second ClientHello of a HelloRetryRequest.
void drop_alpn_after_hello_retry(int write_p, int /*version*/, int content_type, const void* buf,
                                 std::size_t len, SSL* ssl, void* /*arg*/) {
  if (write_p == 0 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
      *static_cast<const unsigned char*>(buf) == SSL3_MT_SERVER_HELLO) {
    SSL_set_alpn_protos(ssl, nullptr, 0);
  }
}

std::string first_dns_name(X509* cert) {
  std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)),
      GENERAL_NAMES_free);
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const auto* text = name->d.dNSName;
      return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
              static_cast<std::size_t>(ASN1_STRING_length(text))};
    }
  }
  return {};
}

class TlsAlpnChallenges : public ::testing::Test {
 protected:
  // A server context for the club's own certificate (localhost), answering `challenges`.
  std::shared_ptr<boost::asio::ssl::context> server_context(config::client_cert_mode mode) {
    tls_files files;
    files.cert_chain = dir.path() / "server.pem";
    files.private_key = dir.path() / "server.key";
    files.client_ca = dir.path() / "ca.pem";
    files.client_crl = dir.path() / "ca.crl";
    files.client_certs = mode;
    files.alpn_challenges = &challenges;
    return make_server_context(files);
  }

  // One handshake over a pair of memory BIOs.
  // `groups`: the client's, first the one it sends a key share for (one the server does not take
  // forces a HelloRetryRequest), and with `drop_alpn` the retried hello offers no ALPN.
  outcome handshake(SSL_CTX* server_ctx, const char* sni, std::string_view alpn_list,
                    const char* groups = nullptr, bool drop_alpn = false) {
    ctx_ptr client_ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    ssl_ptr client(SSL_new(client_ctx.get()), SSL_free);
    ssl_ptr server(SSL_new(server_ctx), SSL_free);
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    EXPECT_EQ(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0), 1);
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_bio(server.get(), server_bio, server_bio);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    if (sni != nullptr) {
      // SSL_set_tlsext_host_name is a macro with a C cast: the control call it stands for.
      SSL_ctrl(client.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(sni));
    }
    if (!alpn_list.empty()) {
      SSL_set_alpn_protos(client.get(), reinterpret_cast<const unsigned char*>(alpn_list.data()),
                          static_cast<unsigned>(alpn_list.size()));
    }
    if (groups != nullptr) {
      SSL_set1_groups_list(client.get(), groups);
    }
    if (drop_alpn) {
      SSL_set_msg_callback(client.get(), drop_alpn_after_hello_retry);
    }
    outcome out;
    for (int round = 0; round < 20 && !out.done; ++round) {
      const int c = SSL_do_handshake(client.get());
      const int s = SSL_do_handshake(server.get());
      out.done = c == 1 && s == 1;
    }
    ERR_clear_error();
    if (!out.done) {
      return out;
    }
    if (X509* peer = SSL_get0_peer_certificate(client.get())) {
      out.subject_alt_name = first_dns_name(peer);
    }
    if (const auto* chain = SSL_get_peer_cert_chain(client.get())) {
      out.chain_length = sk_X509_num(chain);
    }
    const unsigned char* selected = nullptr;
    unsigned size = 0;
    SSL_get0_alpn_selected(client.get(), &selected, &size);
    out.alpn.assign(reinterpret_cast<const char*>(selected), size);
    out.server_says_challenge = is_tls_alpn_challenge(server.get());
    return out;
  }

  void SetUp() override {
    const auto ca = pki::make_ca("tls_alpn test CA");
    const auto leaf = pki::issue_server(ca, {"localhost"});
    files::write_new(dir.path() / "server.pem", leaf.cert_pem + ca.cert_pem, 0600);
    files::write_new(dir.path() / "server.key", leaf.key_pem.view(), 0600);
    files::write_new(dir.path() / "ca.pem", ca.cert_pem, 0600);
    const auto crl = pki::make_crl_der(ca, 30, 1);
    files::write_new(dir.path() / "ca.crl", crl, 0600);
    const auto made = acme::make_tls_alpn_certificate("club.example.org", "token.thumbprint");
    challenges.set("Club.Example.org", made.cert_pem, made.key_pem.view());
  }

  testing::temp_dir dir;
  tls_alpn_challenges challenges;
};

// ALPN lists as clients send them: 1-byte lengths before each name.
constexpr std::string_view acme_only =
    "\x0a"
    "acme-tls/1";
constexpr std::string_view browser = "\x02h2\x08http/1.1";
constexpr std::string_view acme_and_http =
    "\x08http/1.1\x0a"
    "acme-tls/1";

TEST_F(TlsAlpnChallenges, AValidatorGetsTheChallengeCertificateAndTheProtocol) {
  const auto ctx = server_context(config::client_cert_mode::off);
  const auto got = handshake(ctx->native_handle(), "club.example.org", acme_only);
  ASSERT_TRUE(got.done);
  EXPECT_EQ(got.subject_alt_name, "club.example.org");
  EXPECT_EQ(got.alpn, "acme-tls/1");
  EXPECT_TRUE(got.server_says_challenge);
  EXPECT_EQ(got.chain_length, 1) << "the challenge certificate alone, not the server's chain";
  // The control: an ordinary client gets the server's chain.
  EXPECT_EQ(handshake(ctx->native_handle(), "localhost", browser).chain_length, 2);
}

TEST_F(TlsAlpnChallenges, AHelloRetryCannotTurnAChallengeIntoAnOrdinaryConnection) {
  // The first hello asks for the challenge (no client certificate is asked for then); the retried
  // one drops acme-tls/1. Refused: it would otherwise reach HTTP without the certificate the
  // club requires.
  const auto ctx = server_context(config::client_cert_mode::required);
  EXPECT_FALSE(
      handshake(ctx->native_handle(), "club.example.org", acme_only, "P-521:P-256", true).done);
  // The control: the same retry that keeps acme-tls/1 is answered as a challenge.
  const auto kept = handshake(ctx->native_handle(), "club.example.org", acme_only, "P-521:P-256");
  ASSERT_TRUE(kept.done);
  EXPECT_TRUE(kept.server_says_challenge);
}

TEST_F(TlsAlpnChallenges, EveryOtherHandshakeIsUntouched) {
  const auto ctx = server_context(config::client_cert_mode::off);
  for (const auto& [sni, alpn] : {std::pair<const char*, std::string_view>{"localhost", browser},
                                  {"club.example.org", browser},
                                  {"club.example.org", ""},
                                  {"other.example.org", acme_only},
                                  {nullptr, acme_only}}) {
    const auto got = handshake(ctx->native_handle(), sni, alpn);
    ASSERT_TRUE(got.done) << (sni ? sni : "(no name)");
    EXPECT_EQ(got.subject_alt_name, "localhost") << (sni ? sni : "(no name)");
    EXPECT_EQ(got.alpn, "") << "no ALPN for HTTP/1.1 clients, as before";
    EXPECT_FALSE(got.server_says_challenge);
  }
}

TEST_F(TlsAlpnChallenges, OfferedAmongOthersAcmeTlsIsChosen) {
  const auto ctx = server_context(config::client_cert_mode::off);
  const auto got = handshake(ctx->native_handle(), "club.example.org", acme_and_http);
  ASSERT_TRUE(got.done);
  EXPECT_EQ(got.alpn, "acme-tls/1");
  EXPECT_TRUE(got.server_says_challenge);
}

TEST_F(TlsAlpnChallenges, AWithdrawnChallengeIsNoLongerAnswered) {
  const auto ctx = server_context(config::client_cert_mode::off);
  challenges.erase("club.example.org");
  const auto got = handshake(ctx->native_handle(), "club.example.org", acme_only);
  ASSERT_TRUE(got.done);
  EXPECT_EQ(got.subject_alt_name, "localhost");
  EXPECT_FALSE(got.server_says_challenge);
}

TEST_F(TlsAlpnChallenges, AValidatorNeedsNoClientCertificateWhereMembersDo) {
  const auto ctx = server_context(config::client_cert_mode::required);
  const auto validator = handshake(ctx->native_handle(), "club.example.org", acme_only);
  ASSERT_TRUE(validator.done);
  EXPECT_TRUE(validator.server_says_challenge);
  // The control: an ordinary client without a certificate is still refused.
  EXPECT_FALSE(handshake(ctx->native_handle(), "localhost", browser).done);
}

TEST_F(TlsAlpnChallenges, AMismatchedKeyIsRefused) {
  const auto one = acme::make_tls_alpn_certificate("a.example.org", "x");
  const auto two = acme::make_tls_alpn_certificate("a.example.org", "x");
  EXPECT_THROW(challenges.set("a.example.org", one.cert_pem, two.key_pem.view()),
               std::runtime_error);
}

}  // namespace
}  // namespace hush::net
