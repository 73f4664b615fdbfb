#include "http/handlers/common.hpp"

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

json_body read_json_object(const request& req, const services& s) {
  // Only application/json: a form of another origin can send text/plain or form data without
  // asking, but not this.
  const auto type = req[field::content_type];
  if (type != "application/json" && type.rfind("application/json;", 0) != 0) {
    return {std::nullopt, error_response(api_error::unsupported_media_type, req)};
  }
  if (req.body().size() > s.cfg.max_body_bytes) {
    return {std::nullopt, error_response(api_error::payload_too_large, req)};
  }
  // Strict: a key given twice is refused, not resolved (see parse_json).
  auto parsed = parse_json(req.body());
  if (!parsed || !parsed->is_object()) {
    return {std::nullopt, error_response(api_error::bad_request, req)};
  }
  return {std::move(parsed->as_object()), std::nullopt};
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
