#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "acme/jws.hpp"
#include "core/secret.hpp"

namespace hush::acme {

// What one HTTP exchange with the CA gave: the status, the body and the headers ACME reads.
struct http_response {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  std::string location;
  std::string replay_nonce;
  std::string retry_after;  // seconds, or empty
};

// How the client reaches the CA: one request, one response. Throws std::runtime_error when the
// CA cannot be reached (a name that does not resolve, a refused connection, a certificate that
// does not verify, a timeout).
class transport {
 public:
  virtual ~transport() = default;
  virtual http_response exchange(std::string_view method, const std::string& url,
                                 const std::string& body, std::string_view content_type) = 0;
};

// An error the CA reported (an RFC 7807 problem document) or a reply the client cannot use. The
// message names the step and carries the CA's type and detail.
class acme_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One challenge's answer while the CA validates it: for HTTP-01 the token and key authorization
// are served at /.well-known/acme-challenge/<token>; for tls-alpn-01 the key authorization's
// digest is carried by a certificate served for `host` (acme/tls_alpn.hpp).
struct challenge_answer {
  std::string host;
  std::string token;
  std::string key_authorization;
};

// Where the answers go: for HTTP-01, the plain-HTTP listener's table of tokens; for tls-alpn-01,
// the TLS listeners' challenge certificates. `withdraw` gets the answer `publish` got.
struct challenge_responder {
  std::function<void(const challenge_answer&)> publish;
  std::function<void(const challenge_answer&)> withdraw;
};

struct certificate_order {
  std::vector<std::string> hosts;  // DNS names or IP addresses
  std::string email;               // the account's contact; may be empty
  std::string challenge = "http-01";
};

struct issued_certificate {
  secret_string key_pem;
  std::string chain_pem;  // the leaf first, then the intermediates
};

// An RFC 8555 client: the account (created, or found again by its key), the order, one
// authorization per host answered with the chosen challenge, the CSR, finalize, and the
// certificate chain. A badNonce is retried with the fresh nonce it brings (RFC 8555 §6.5).
class client {
 public:
  // Waits between polls, for at most the given time; false when the wait was cut short because
  // the server is stopping (then the client gives up with acme_error).
  using waiter = std::function<bool(std::chrono::milliseconds)>;

  client(transport& net, const account_key& key, std::string directory_url, waiter wait);

  // Throws acme_error (or std::runtime_error from the transport).
  issued_certificate obtain(const certificate_order& order, const challenge_responder& responder);

 private:
  struct directory {
    std::string new_nonce;
    std::string new_account;
    std::string new_order;
  };

  void load_directory();
  // Throws acme_error unless `url` is on the directory's origin (scheme, host and port).
  void require_same_origin(const std::string& url, std::string_view step) const;
  std::string nonce();
  // A JWS-signed POST (an empty payload is POST-as-GET), by the account's URL once there is one.
  http_response post(const std::string& url, const std::string& payload, std::string_view step);
  void ensure_account(const std::string& email);
  // Polls `url` (POST-as-GET) until its status is none of `pending`; returns the last body.
  std::string poll(const std::string& url, const std::vector<std::string_view>& pending,
                   std::string_view step);
  // Answers one authorization; returns the name it is for (in lower case).
  std::string authorize(const std::string& authorization_url, const certificate_order& order,
                        const challenge_responder& responder);

  transport& net_;
  const account_key& key_;
  std::string directory_url_;
  waiter wait_;
  directory directory_{};
  std::string nonce_;
  std::string account_url_;
};

}  // namespace hush::acme
