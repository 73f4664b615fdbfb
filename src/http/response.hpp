#pragma once

#include <chrono>
#include <string_view>
#include <system_error>

#include <boost/json/value.hpp>

#include "http/types.hpp"

namespace hush::http {

// Stable error codes clients may rely on; the text beside each is generic and never says more
// than the code does (details go to the log, never to the client).
enum class api_error {
  bad_request,
  unauthorized,
  session_expired,
  forbidden,
  cross_origin,
  not_found,
  method_not_allowed,
  not_acceptable,
  payload_too_large,
  headers_too_large,
  conflict,
  unsupported_media_type,
  too_many_requests,
  unavailable,
  insufficient_storage,  // 507: the disk is full; nothing was written
  read_only_storage,     // 507: the club's storage is read-only; nothing was written
  not_wiped,             // 503: removed, but not yet wiped from the disk
  internal,
};

// A JSON error response: {"error": "<code>", "message": "<generic text>"}, with the status that
// belongs to the code, WWW-Authenticate on 401, and the security headers.
response error_response(api_error error, const request& req);
response error_response(api_error error, unsigned version, bool keep_alive);

// The same, with `message` saying what exactly is wrong with the request and what is expected
// ("\"body\" must be a string of at most 1000 bytes"), for a client's own mistake (400, 413,
// 415): the field it names and the rule are public, never a secret or the server's internals.
// `error` stays the stable code.
response error_response(api_error error, const request& req, std::string_view message);

// The same, with Retry-After (429 and 503).
response error_response(api_error error, const request& req, std::chrono::seconds retry_after);

// Maps a data-path error to the API error a client may see.
api_error to_api_error(std::error_code ec) noexcept;

response json_response(status s, const boost::json::value& body, const request& req);
// 204 No Content, with the security headers.
response no_content_response(const request& req);
response text_response(status s, std::string body, const request& req);

// The response as bytes on the wire (HTTP/1.x status line, fields, body), appended to `out`.
// Equivalent to Beast's serializer for the responses hush makes (sized bodies, never chunked),
// at a fraction of its cost. `out` grows once, to exactly what it needs (serialized_size).
void serialize(const response& res, std::string& out, bool with_body = true);
// How many bytes serialize appends.
std::size_t serialized_size(const response& res, bool with_body = true);

// Headers every response carries, success or error: HSTS, no caching, no sniffing, a CSP that
// allows nothing, no referrer, no framing. No Server header is ever set.
void apply_security_headers(response& res);

// The members' web page and its files: the same headers, with a CSP that lets the page load its
// own script, style and images and talk to its own origin, and nothing else (no inline code, no
// eval, no other origin).
response page_response(std::string_view content_type, std::string_view body, const request& req);

}  // namespace hush::http
