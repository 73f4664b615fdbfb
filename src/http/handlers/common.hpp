#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/json/object.hpp>

#include "http/handlers/handlers.hpp"

// Helpers shared by the handlers; not part of the HTTP surface.
namespace hush::http::handlers::detail {

// An error for the client, with the detail for the log only.
response fail(std::error_code ec, const request& req, std::string_view where);

// The request's JSON object body, if it is one under Content-Type application/json within the
// body limit, with no key repeated in any object (http::parse_json); otherwise the error
// response to send.
struct json_body {
  std::optional<boost::json::object> object;
  std::optional<response> error;
};
json_body read_json_object(const request& req, const services& s);

// Empty if every key of `object` is one of `allowed`; otherwise the message for the client that
// names the first other key and the keys allowed.
std::string only_keys(const boost::json::object& object,
                      std::initializer_list<std::string_view> allowed);

// The answer that hands a browser a new session: 200 with `body` and the session's CSRF token as
// "csrf", and its __Host-hush cookie (log_in, and a password change made in a session).
response session_started(const request& req, boost::json::object body, std::string_view token,
                         const store::session_limits& limits);

// The string member `name` of `object`, or nullopt if it is missing or not a string.
std::optional<std::string_view> string_member(const boost::json::object& object,
                                              std::string_view name);

}  // namespace hush::http::handlers::detail
