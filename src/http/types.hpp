#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "store/records.hpp"

namespace hush::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;
using status = boost::beast::http::status;
using verb = boost::beast::http::verb;
using field = boost::beast::http::field;

// A response and, for a read of a message body, the audit record that must be durable before
// the response is sent (the server commits these in batches; see store::audit_batcher).
struct reply {
  reply(response r) : res(std::move(r)) {}  // NOLINT(google-explicit-constructor): most replies
  reply(response r, store::audit_record a) : res(std::move(r)), audit(std::move(a)) {}

  response res;
  std::optional<store::audit_record> audit;
};

// The router's answer when a request needs an Argon2id run that the caller deferred: run route()
// again with hashing allowed, on the pool that may hash.
struct needs_hashing {};
using outcome = std::variant<reply, needs_hashing>;

// What the connection knows about a request beyond its bytes.
struct request_context {
  std::string remote;  // "203.0.113.7" or "::1", for the audit trail and throttling
  // The client certificate the TLS handshake verified against the club CA and its CRL, if any:
  // serial (pki::canonical_serial form) and subject common name (the member's name). Empty
  // without one; the {} lets a caller leave them out without -Wmissing-field-initializers.
  std::string client_cert_serial{};
  std::string client_cert_name{};
};

// Bytes served as they are that may be replaced while the server runs (the CA's CRL, after
// `hush ca crl`). Thread safe.
class published_bytes {
 public:
  std::shared_ptr<const std::string> get() const {
    std::lock_guard lock(mutex_);
    return bytes_;
  }
  void set(std::string bytes) {
    auto next = std::make_shared<const std::string>(std::move(bytes));
    std::lock_guard lock(mutex_);
    bytes_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const std::string> bytes_ = std::make_shared<const std::string>();
};

}  // namespace hush::http
