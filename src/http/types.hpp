#pragma once

#include <cstdint>
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

// Which route a request took, as the access log and the metrics name it: a label of our own,
// never the client's text, so a scan of random paths cannot make new series.
enum class route_name : std::uint8_t {
  root,             // "/"
  messages,         // "/api/v1/messages"
  message,          // "/api/v1/messages/{id}"
  session,          // "/api/v1/session"
  members,          // "/api/v1/members"
  member,           // "/api/v1/members/{name}"
  member_password,  // "/api/v1/members/{name}/password"
  message_reads,    // "/api/v1/messages/{id}/reads"
  healthz,          // "/healthz"
  crl,              // "/ca.crl"
  ca_cert,          // "/ca.pem"
  page,             // the members' page and its files
  other,            // no such route (404), or not for this server
  refused,          // refused before routing (a malformed, oversized or slow request)
};

// How a request tried to prove who it is.
enum class auth_method : std::uint8_t { none, password, token, session, certificate };

// What routing learned about a request, for the access log and the metrics: written by the
// router as it goes, read by the connection once the answer is on its way.
struct request_note {
  route_name route = route_name::other;
  auth_method method = auth_method::none;
  std::string member{};  // who proved it; empty if nobody did
  // The member's request allowance was already spent on this request (by the answer from memory
  // that a change overtook): routing it afresh must not spend it twice.
  bool allowance_spent = false;
};

// What the connection knows about a request beyond its bytes.
struct request_context {
  std::string remote;  // "203.0.113.7" or "::1", for the audit trail and throttling
  // The client certificate the TLS handshake verified against the club CA and its CRL, if any:
  // serial (pki::canonical_serial form) and subject common name (the member's name). Empty
  // without one; the {} lets a caller leave them out without -Wmissing-field-initializers.
  std::string client_cert_serial{};
  std::string client_cert_name{};
  // Where the router notes what it learned (route, member, method); may be null.
  request_note* note = nullptr;
};

}  // namespace hush::http
