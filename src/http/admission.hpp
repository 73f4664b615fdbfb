#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/system/error_code.hpp>

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

// What the bytes read so far on a connection say about the next request's head.
struct head_scan {
  enum class state { incomplete, complete, refused };
  state at = state::incomplete;
  std::size_t size = 0;                        // complete: the head's bytes, through "\r\n\r\n"
  api_error refusal = api_error::bad_request;  // refused: the error to answer before closing

  static head_scan incomplete() { return {}; }
  static head_scan complete(std::size_t size) { return {state::complete, size}; }
  static head_scan refused(api_error error) { return {state::refused, 0, error}; }
  friend bool operator==(const head_scan&, const head_scan&) = default;
};

// Looks at the raw bytes of a head before any parser does (`buffered` starts at the request's
// first byte and may run past its head, when a client pipelines):
//   - no "\r\n\r\n" yet: incomplete, or headers_too_large once `max_header_bytes` are held;
//   - obs-fold (a line continued with a space or a tab) in the head: bad_request;
//   - a head longer than `max_header_bytes`, its blank line included: headers_too_large;
//   - else complete.
// Pure; thread safe. The server calls it on every read of a head; the fuzzer calls it too.
head_scan scan_head(std::string_view buffered, std::size_t max_header_bytes);

// What a connection does when reading a request fails.
struct read_failure {
  enum class action {
    answer,  // answer `error`, then linger and close: the client is talking, but wrongly
    close,   // end the connection with a TLS close_notify: the client left between requests
    drop,    // just close: a timeout, a reset, a truncated request; the peer is gone
  };
  action then = action::drop;
  api_error error = api_error::bad_request;  // for answer

  friend bool operator==(const read_failure&, const read_failure&) = default;
};

// Maps the error of a read of a request (Beast's parser, or the raw read of a head) to what the
// connection does: a header limit is 431, a body limit 413, any other parse error 400; an end of
// stream with nothing of a request read (`buffered_bytes` == 0) closes; anything else drops.
// Pure; thread safe.
read_failure read_error_answer(const boost::system::error_code& ec, std::size_t buffered_bytes);

}  // namespace hush::http
