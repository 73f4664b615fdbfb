#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "http/types.hpp"

namespace hush::http {

// "/", "/api/v1/messages/{id}", ...: the route's label in the access log and the metrics.
std::string_view to_string(route_name r);
// "password", "token", "session", "certificate"; "-" for none.
std::string_view to_string(auth_method m);

// One request and its answer, as the access log records it. Holds no secret by construction:
// no header, no query string, no body.
struct exchange {
  std::string_view request_id;
  std::string_view client;  // the client's address (behind a trusted proxy, the one it reported)
  const request_note* note = nullptr;  // null: refused before routing
  std::string_view method;             // "GET"
  std::string_view target;             // the path; anything from '?' on is dropped here
  unsigned status = 0;
  std::uint64_t body_bytes = 0;
  std::chrono::microseconds duration{0};
};

// The access-log line (at info) and the request metrics for one answered request. Thread safe.
void record(const exchange& e);

// A random id for a request, 16 hex digits, for finding its lines in the log (in an array: a
// std::string of 16 would not fit the small-string buffer). Thread safe.
using request_id = std::array<char, 16>;
request_id new_request_id();

// The security events, each one warn line with the client's address (fail2ban's <HOST>) and the
// name tried (docs/operations.md; packaging/fail2ban matches them).
void note_auth_failure(std::string_view client, auth_method method, std::string_view name);
void note_throttled(std::string_view client, auth_method method, std::string_view name,
                    std::chrono::seconds delay);
// A member changed their own password (every browser session of theirs ended); `new_session`
// when the request's session was replaced by a new one. Not a guesser's line.
void note_password_changed(std::string_view client, auth_method method, std::string_view name,
                           bool new_session);
// A member over their request rate: not a guesser, so not one of fail2ban's lines.
void note_rate_limited(std::string_view client, std::string_view name, std::chrono::seconds delay);
void note_cross_origin(std::string_view client, std::string_view name, std::string_view why);
void note_hashing_queue_full(std::string_view client);
// A client certificate the TLS handshake refused (unknown CA, revoked, expired), with why.
void note_certificate_refused(std::string_view client, std::string_view subject,
                              std::string_view why);

}  // namespace hush::http
