#include "acme/jws.hpp"

#include <arpa/inet.h>
#include <array>
#include <stdexcept>
#include <utility>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "pki/openssl_util.hpp"

namespace hush::acme {
namespace {

using pki::detail::bn_ptr;
using pki::detail::fail;
using pki::detail::pkey_ptr;
using pki::detail::req_ptr;

constexpr int p256_coordinate_bytes = 32;

EVP_PKEY* as_key(void* key) {
  return static_cast<EVP_PKEY*>(key);
}

std::string coordinate(EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    fail("cannot read the account key's public point");
  }
  const bn_ptr value(raw);
  std::string bytes(p256_coordinate_bytes, '\0');
  if (BN_bn2binpad(value.get(), reinterpret_cast<unsigned char*>(bytes.data()),
                   p256_coordinate_bytes) != p256_coordinate_bytes) {
    fail("the account key's public point is not P-256");
  }
  return base64url(bytes);
}

std::string jwk_of(EVP_PKEY* key) {
  std::array<char, 64> group{};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                     &length) != 1 ||
      std::string_view(group.data(), length) != "prime256v1") {
    throw std::runtime_error("the ACME account key must be ECDSA P-256");
  }
  return R"({"crv":"P-256","kty":"EC","x":")" + coordinate(key, OSSL_PKEY_PARAM_EC_PUB_X) +
         R"(","y":")" + coordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y) + R"("})";
}

}  // namespace

bool is_ip_address(const std::string& host) {
  std::array<unsigned char, sizeof(in6_addr)> buffer{};
  return inet_pton(AF_INET, host.c_str(), buffer.data()) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer.data()) == 1;
}

std::string base64url(std::string_view bytes) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8U) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(buffer >> static_cast<unsigned>(bits)) & 0x3FU]);
    }
  }
  if (bits > 0) {
    out.push_back(alphabet[(buffer << static_cast<unsigned>(6 - bits)) & 0x3FU]);
  }
  return out;
}

account_key::account_key(void* key) : key_(key), jwk_(jwk_of(as_key(key))) {}

account_key account_key::generate() {
  auto key = pki::detail::make_p256_key();
  account_key out(key.get());
  static_cast<void>(key.release());
  return out;
}

account_key account_key::from_pem(std::string_view pem) {
  auto key = pki::detail::key_from_pem(pem, "the ACME account key");
  account_key out(key.get());
  static_cast<void>(key.release());
  return out;
}

account_key::account_key(account_key&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)), jwk_(std::move(other.jwk_)) {}

account_key& account_key::operator=(account_key&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(as_key(key_));
    key_ = std::exchange(other.key_, nullptr);
    jwk_ = std::move(other.jwk_);
  }
  return *this;
}

account_key::~account_key() {
  EVP_PKEY_free(as_key(key_));
}

secret_string account_key::pem() const {
  return pki::detail::key_to_pem(as_key(key_));
}

std::string account_key::thumbprint() const {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(jwk_.data()), jwk_.size(), digest.data());
  return base64url({reinterpret_cast<const char*>(digest.data()), digest.size()});
}

std::string account_key::sign(std::string_view protected_header, std::string_view payload) const {
  const std::string header64 = base64url(protected_header);
  const std::string payload64 = base64url(payload);
  const std::string signing_input = header64 + "." + payload64;
  std::unique_ptr<EVP_MD_CTX, pki::detail::deleter<EVP_MD_CTX_free>> ctx(EVP_MD_CTX_new());
  std::size_t der_size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, as_key(key_)) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_size,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    fail("cannot sign an ACME request");
  }
  std::string der(der_size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_size,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    fail("cannot sign an ACME request");
  }
  // ES256 is r || s, 32 bytes each (RFC 7518 §3.4), not OpenSSL's DER.
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, pki::detail::deleter<ECDSA_SIG_free>> sig(
      d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der_size)));
  if (!sig) {
    fail("cannot read an ECDSA signature");
  }
  std::string raw(2 * p256_coordinate_bytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, p256_coordinate_bytes) !=
          p256_coordinate_bytes ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + p256_coordinate_bytes,
                   p256_coordinate_bytes) != p256_coordinate_bytes) {
    fail("cannot encode an ECDSA signature");
  }
  return R"({"protected":")" + header64 + R"(","payload":")" + payload64 + R"(","signature":")" +
         base64url(raw) + R"("})";
}

key_and_csr make_csr(const std::vector<std::string>& hosts) {
  if (hosts.empty()) {
    throw std::runtime_error("a certificate request needs at least one host name");
  }
  auto key = pki::detail::make_p256_key();
  req_ptr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    fail("cannot make a certificate request");
  }
  // A common name holds at most 64 characters (RFC 5280's ub-common-name); a longer first name
  // is named in subjectAltName only, which is all a CA reads.
  constexpr std::size_t max_common_name = 64;
  X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  if (hosts.front().size() <= max_common_name &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(hosts.front().c_str()), -1,
                                 -1, 0) != 1) {
    fail("cannot name " + hosts.front() + " in a certificate request");
  }
  std::string names;
  for (const auto& host : hosts) {
    if (host.find_first_of(", \t\r\n") != std::string::npos) {
      throw std::runtime_error("\"" + host + "\" is not a host name");
    }
    // Appended piece by piece: gcc 12 at -O3 sees a false overlap in "," + std::string(...)
    // (-Wrestrict), which HUSH_WERROR makes an error.
    if (!names.empty()) {
      names += ',';
    }
    names += is_ip_address(host) ? "IP:" : "DNS:";
    names += host;
  }
  pki::detail::extensions_ptr extensions(sk_X509_EXTENSION_new_null());
  pki::detail::ext_ptr san(
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, names.c_str()));
  if (!extensions || !san || sk_X509_EXTENSION_push(extensions.get(), san.get()) == 0) {
    fail("cannot list the host names in a certificate request");
  }
  static_cast<void>(san.release());
  if (X509_REQ_add_extensions(req.get(), extensions.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    fail("cannot sign a certificate request");
  }
  unsigned char* der = nullptr;
  const int size = i2d_X509_REQ(req.get(), &der);
  return {pki::detail::key_to_pem(key.get()),
          pki::detail::der_to_string(der, size, "a certificate request")};
}

}  // namespace hush::acme
