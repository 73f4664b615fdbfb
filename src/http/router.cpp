#include "http/router.hpp"

#include <charconv>
#include <optional>

#include "http/response.hpp"

namespace hush::http {
namespace {

// "/api/v1/messages/42" -> 42. Digits only: no signs, no encoded characters, nothing after.
std::optional<store::message_id> message_id_in(std::string_view path) {
  constexpr std::string_view prefix = "/api/v1/messages/";
  constexpr std::size_t max_digits = 18;
  if (path.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  const auto digits = path.substr(prefix.size());
  if (digits.empty() || digits.size() > max_digits || digits.front() == '0' ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return store::message_id{value};
}

response not_allowed(const request& req, std::string_view allow) {
  auto res = error_response(api_error::method_not_allowed, req);
  res.set(field::allow, allow);
  return res;
}

}  // namespace

response router::handle(const request& req, const request_context& ctx) {
  const auto t = split_target(req.target());
  const auto method = req.method();

  if (t.path == "/") {
    if (method == verb::get) {
      return handlers::newest_text(req, ctx, services_);
    }
    return not_allowed(req, "GET");
  }
  if (t.path == "/api/v1/messages") {
    if (method == verb::get) {
      return handlers::list_messages(req, t, services_);
    }
    if (method == verb::post) {
      return handlers::post_message(req, services_);
    }
    return not_allowed(req, "GET, POST");
  }
  if (const auto id = message_id_in(t.path)) {
    if (method == verb::get) {
      return handlers::get_message(req, ctx, services_, *id);
    }
    if (method == verb::delete_) {
      return handlers::delete_message(req, services_, *id);
    }
    return not_allowed(req, "GET, DELETE");
  }
  return error_response(api_error::not_found, req);
}

}  // namespace hush::http
