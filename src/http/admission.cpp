#include "http/admission.hpp"

#include <string_view>

#include <boost/asio/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

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

head_scan scan_head(std::string_view buffered, std::size_t max_header_bytes) {
  const auto end = buffered.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return buffered.size() >= max_header_bytes ? head_scan::refused(api_error::headers_too_large)
                                               : head_scan::incomplete();
  }
  // Request smuggling lives in the gaps between parsers that disagree. Obs-fold (RFC 9112
  // section 5.2) is one: Beast would unfold it into one value, while a proxy in front might not.
  const auto head = buffered.substr(0, end + 4);
  if (head.find("\r\n ") != std::string_view::npos ||
      head.find("\r\n\t") != std::string_view::npos) {
    return head_scan::refused(api_error::bad_request);
  }
  // Beast's own header limit counts the request line apart from the fields, so it lets through a
  // little more than the limit; here the limit means the whole head, however the bytes arrived.
  if (head.size() > max_header_bytes) {
    return head_scan::refused(api_error::headers_too_large);
  }
  return head_scan::complete(head.size());
}

read_failure read_error_answer(const boost::system::error_code& ec, std::size_t buffered_bytes) {
  namespace bhttp = boost::beast::http;
  using action = read_failure::action;
  if (ec == bhttp::error::end_of_stream || (ec == boost::asio::error::eof && buffered_bytes == 0)) {
    return {action::close};
  }
  if (ec == bhttp::error::header_limit) {
    return {action::answer, api_error::headers_too_large};
  }
  if (ec == bhttp::error::body_limit) {
    return {action::answer, api_error::payload_too_large};
  }
  // Every other error of Beast's HTTP category is the client's malformed request (partial_message
  // included: it stopped sending mid-message, and may still read).
  if (&ec.category() == &bhttp::make_error_code(bhttp::error::bad_target).category()) {
    return {action::answer, api_error::bad_request};
  }
  // Timeouts, resets, truncation: the peer is gone or never meant to talk.
  return {action::drop};
}

}  // namespace hush::http
