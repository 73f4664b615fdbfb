#pragma once

#include <optional>

#include <boost/beast/http/message.hpp>

#include "http/response.hpp"

namespace hush::http {

using request_header = boost::beast::http::request_header<>;

// The rules a request's head must meet before its body is read, where two parsers (a proxy in
// front and hush) could read the same bytes differently (RFC 9110, RFC 9112). Returns the error to
// answer before closing the connection, or nullopt to go on. The server calls it on every parsed
// head; the fuzzer calls it too. Pure; thread safe.
//   - Transfer-Encoding: at most one field, and then exactly "chunked";
//   - Content-Length: at most one field, and then digits only (no list, even of equal values);
//   - Host: exactly one on HTTP/1.1, at most one on HTTP/1.0;
//   - Authorization: at most one.
std::optional<api_error> head_refusal(const request_header& head);

}  // namespace hush::http
