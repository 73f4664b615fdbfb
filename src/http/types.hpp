#pragma once

#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace hush::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;
using status = boost::beast::http::status;
using verb = boost::beast::http::verb;
using field = boost::beast::http::field;

// What the connection knows about a request beyond its bytes.
struct request_context {
  std::string remote;  // "203.0.113.7" or "::1", for the audit trail and throttling
};

}  // namespace hush::http
