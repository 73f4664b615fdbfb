#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "club/audit.hpp"
#include "http/published_bytes.hpp"

namespace hush::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;
using status = boost::beast::http::status;
using verb = boost::beast::http::verb;
using field = boost::beast::http::field;

// A response and, for a read of a message body, the audit record it owes, which must be durable
// before the response is sent (club::commit_read; the server's sink commits in batches).
struct reply {
  reply(response r) : res(std::move(r)) {}  // NOLINT(google-explicit-constructor): most replies
  reply(response r, club::owed_audit a) : res(std::move(r)), audit(std::move(a)) {}

  response res;
  std::optional<club::owed_audit> audit;
};

// The router's answer when a request needs an Argon2id run (a password to verify, a new member's
// password to hash): the rest of the request, as the first pass decided it, to run on the pool
// that may hash. resume() does the hash and finishes the request, without routing it again; it
// refers to the request and its context, which must outlive it.
struct needs_hashing {
  std::function<reply()> resume;
};
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

}  // namespace hush::http
