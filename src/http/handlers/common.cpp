#include "http/handlers/common.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "auth/sessions.hpp"
#include "core/log.hpp"
#include "http/json.hpp"
#include "http/response.hpp"

namespace hush::http::handlers::detail {

response fail(std::error_code ec, const request& req, std::string_view where) {
  const auto api = to_api_error(ec);
  if (api == api_error::internal || api == api_error::unavailable ||
      api == api_error::insufficient_storage || api == api_error::read_only_storage ||
      api == api_error::not_wiped) {
    log::error(std::string(where) + ": " + ec.message());
  }
  return error_response(api, req);
}

response session_started(const request& req, boost::json::object body, std::string_view token,
                         const store::session_limits& limits) {
  body["csrf"] = auth::csrf_token(token);
  auto res = json_response(status::ok, body, req);
  res.set(field::set_cookie, auth::session_cookie(token, std::chrono::seconds(limits.absolute)));
  return res;
}

json_body read_json_object(const request& req, const services& s) {
  // Only application/json: a form of another origin can send text/plain or form data without
  // asking, but not this.
  const auto type = req[field::content_type];
  if (type != "application/json" && type.rfind("application/json;", 0) != 0) {
    return {std::nullopt,
            error_response(api_error::unsupported_media_type, req,
                           "the body must be JSON, sent with Content-Type: application/json")};
  }
  if (req.body().size() > s.cfg.max_body_bytes) {
    return {std::nullopt,
            error_response(api_error::payload_too_large, req,
                           "the body must be at most " + std::to_string(s.cfg.max_body_bytes) +
                               " bytes (limits.max_body_bytes)")};
  }
  // Strict: a key given twice is refused, not resolved (see parse_json).
  auto parsed = parse_json(req.body());
  if (!parsed || !parsed->is_object()) {
    return {std::nullopt,
            error_response(api_error::bad_request, req,
                           "the body must be one JSON object, with each key at most once")};
  }
  return {std::move(parsed->as_object()), std::nullopt};
}

std::string only_keys(const boost::json::object& object,
                      std::initializer_list<std::string_view> allowed) {
  for (const auto& entry : object) {
    const std::string_view key(entry.key().data(), entry.key().size());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string names;
      for (const auto name : allowed) {
        names += (names.empty() ? "\"" : ", \"") + std::string(name) + "\"";
      }
      // The key is the client's own text: named back only when it is short plain ASCII, so the
      // answer never carries much of what a client sent.
      constexpr std::size_t longest_named_key = 64;
      const bool plain =
          key.size() <= longest_named_key &&
          std::all_of(key.begin(), key.end(), [](char c) { return c >= ' ' && c <= '~'; });
      return (plain ? "unknown key \"" + std::string(key) + "\"" : std::string("an unknown key")) +
             "; the object takes only " + names;
    }
  }
  return {};
}

std::optional<std::string_view> string_member(const boost::json::object& object,
                                              std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr || !value->is_string()) {
    return std::nullopt;
  }
  const auto& text = value->get_string();
  return std::string_view(text.data(), text.size());
}

}  // namespace hush::http::handlers::detail
