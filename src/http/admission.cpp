#include "http/admission.hpp"

#include <string_view>

#include <boost/beast/core/string.hpp>

namespace hush::http {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

std::optional<api_error> head_refusal(const request_header& head) {
  // Beast reads a Transfer-Encoding that does not end in "chunked" as no body at all, and the
  // body as the next request; a proxy in front may read it as a body.
  const auto codings = head.count(field::transfer_encoding);
  if (codings > 1 ||
      (codings == 1 && !boost::beast::iequals(head[field::transfer_encoding], "chunked"))) {
    return api_error::bad_request;
  }
  // Beast accepts two equal Content-Lengths, and "5, 5"; RFC 9110 section 8.6 lets a recipient
  // refuse them, and a proxy might have framed the message differently.
  const auto lengths = head.count(field::content_length);
  if (lengths > 1 || (lengths == 1 && !all_digits(head[field::content_length]))) {
    return api_error::bad_request;
  }
  // RFC 9112 section 3.2: a 1.1 request without Host, or any request with more than one, is 400.
  // Two Hosts would let a proxy route by one while hush reads the other.
  const auto hosts = head.count(field::host);
  if (hosts > 1 || (hosts == 0 && head.version() >= 11)) {
    return api_error::bad_request;
  }
  // Two credentials: a proxy in front may check or log one while hush authenticates the other.
  if (head.count(field::authorization) > 1) {
    return api_error::bad_request;
  }
  return std::nullopt;
}

}  // namespace hush::http
