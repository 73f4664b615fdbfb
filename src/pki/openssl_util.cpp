#include "pki/openssl_util.hpp"

#include <arpa/inet.h>
#include <ctime>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki/pki.hpp"

namespace hush::pki::detail {

[[noreturn]] void fail(const std::string& what) {
  const unsigned long code = ERR_get_error();
  char reason[256] = "";
  if (code != 0) {
    ERR_error_string_n(code, reason, sizeof reason);
  }
  ERR_clear_error();
  throw std::runtime_error(what + (code != 0 ? std::string(": ") + reason : std::string()));
}

pkey_ptr make_p256_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) {
    fail("cannot generate an EC P-256 key");
  }
  return key;
}

secret_string key_to_pem(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("cannot encode a private key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  // Straight into the secret_string: the std::string's buffer moves in, no copy stays behind.
  return secret_string(std::string(data, static_cast<std::size_t>(size)));
}

std::string cert_to_pem(X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    fail("cannot encode a certificate");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(size)};
}

bio_ptr read_bio(std::string_view text) {
  bio_ptr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) {
    fail("out of memory");
  }
  return bio;
}

// A null password callback: an encrypted PEM key must fail, never prompt on the terminal.
int no_password(char*, int, int, void*) {
  return -1;
}

pkey_ptr key_from_pem(std::string_view pem, const std::string& what) {
  auto bio = read_bio(pem);
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  if (!key) {
    fail("cannot read " + what);
  }
  return key;
}

x509_ptr cert_from_pem(const std::string& pem, const std::string& what) {
  auto bio = read_bio(pem);
  x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
  if (!cert) {
    fail("cannot read " + what);
  }
  return cert;
}

std::string der_to_string(unsigned char* der, int size, const char* what) {
  if (size <= 0 || der == nullptr) {
    fail(std::string("cannot encode ") + what);
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(size));
  OPENSSL_free(der);
  return out;
}

std::int64_t to_unix(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    fail("cannot read a certificate time");
  }
  return static_cast<std::int64_t>(::timegm(&tm));
}

std::string utf8(const ASN1_STRING* text) {
  unsigned char* out = nullptr;
  const int size = ASN1_STRING_to_UTF8(&out, text);
  if (size < 0) {
    fail("cannot read a name");
  }
  std::string result(reinterpret_cast<const char*>(out), static_cast<std::size_t>(size));
  OPENSSL_free(out);
  return result;
}

// The subject's first common name, or empty.
std::string common_name_of(const X509_NAME* name) {
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) {
    return {};
  }
  return utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
}

// An iPAddress entry as text ("127.0.0.1", "::1"); empty for a length that is neither.
std::string ip_text(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = "";
  const int size = ASN1_STRING_length(ip);
  const int family = size == 4 ? AF_INET : size == 16 ? AF_INET6 : 0;
  if (family == 0 || ::inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text) == nullptr) {
    return {};
  }
  return text;
}

// An IA5String with no embedded NUL (which would let "evil.example\0.club" pass a check).
std::string ia5_text(const ASN1_IA5STRING* text) {
  std::string out(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                  static_cast<std::size_t>(ASN1_STRING_length(text)));
  if (out.find('\0') != std::string::npos) {
    return {};
  }
  return out;
}

std::string serial_text(const ASN1_INTEGER* serial) {
  bn_ptr number(ASN1_INTEGER_to_BN(serial, nullptr));
  char* hex = number ? BN_bn2hex(number.get()) : nullptr;
  if (hex == nullptr) {
    fail("cannot read a certificate serial");
  }
  std::string text(hex);
  OPENSSL_free(hex);
  return canonical_serial(text);
}

}  // namespace hush::pki::detail
