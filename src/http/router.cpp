#include "http/router.hpp"

#include <charconv>
#include <optional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "http/response.hpp"

namespace hush::http {
namespace {

enum class resource { root, messages, message, none };

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

std::string_view allowed_methods(resource r) {
  switch (r) {
    case resource::root:
      return "GET";
    case resource::messages:
      return "GET, POST";
    case resource::message:
      return "GET, DELETE";
    case resource::none:
      break;
  }
  return "";
}

bool allows(resource r, verb method) {
  switch (r) {
    case resource::root:
      return method == verb::get;
    case resource::messages:
      return method == verb::get || method == verb::post;
    case resource::message:
      return method == verb::get || method == verb::delete_;
    case resource::none:
      break;
  }
  return false;
}

response with_allow(response res, std::string_view allow) {
  res.set(field::allow, allow);
  return res;
}

response options_response(const request& req, std::string_view allow) {
  response res{status::no_content, req.version()};
  res.set(field::allow, allow);
  res.keep_alive(req.keep_alive());
  apply_security_headers(res);
  res.prepare_payload();
  return res;
}

}  // namespace

outcome router::route(const request& req, const request_context& ctx, auth::hashing mode) {
  // Only origin-form targets ("/path?query"): an absolute URI or CONNECT's authority-form is not
  // for this server.
  if (req.target().empty() || req.target().front() != '/') {
    return error_response(api_error::bad_request, req);
  }
  const auto t = split_target(req.target());
  // Public by design: a CRL is for anyone who checks a certificate.
  if (t.path == "/ca.crl" && !services_.crl_der.empty()) {
    if (req.method() != verb::get) {
      return with_allow(error_response(api_error::method_not_allowed, req), "GET");
    }
    response res{status::ok, req.version()};
    res.set(field::content_type, "application/pkix-crl");
    res.body() = services_.crl_der;
    res.keep_alive(req.keep_alive());
    apply_security_headers(res);
    res.prepare_payload();
    return res;
  }
  std::optional<store::message_id> id;
  resource r = resource::none;
  if (t.path == "/") {
    r = resource::root;
  } else if (t.path == "/api/v1/messages") {
    r = resource::messages;
  } else if ((id = message_id_in(t.path))) {
    r = resource::message;
  }

  if (r == resource::none) {
    return error_response(api_error::not_found, req);
  }
  // No CORS headers: OPTIONS tells what the resource allows and grants no other origin anything.
  if (req.method() == verb::options) {
    return options_response(req, allowed_methods(r));
  }
  if (!allows(r, req.method())) {
    return with_allow(error_response(api_error::method_not_allowed, req), allowed_methods(r));
  }

  // Every route is for members only: authenticate before anything else is looked at.
  auth::auth_failure failure;
  const auto header = req.find(field::authorization);
  const auto who = header == req.end()
                       ? std::nullopt
                       : services_.auth.authenticate(header->value(), ctx.remote, mode, failure);
  if (!who) {
    if (header == req.end() || failure.error == errc::unauthorized) {
      return error_response(api_error::unauthorized, req);
    }
    if (failure.error == errc::needs_hashing) {
      return needs_hashing{};
    }
    if (failure.error == errc::throttled) {
      return error_response(api_error::too_many_requests, req, failure.retry_after);
    }
    log::error("authentication: " + failure.error.message());
    return error_response(to_api_error(failure.error), req);
  }

  switch (r) {
    case resource::root:
      return handlers::newest_text(req, t, ctx, services_, *who);
    case resource::messages:
      return req.method() == verb::get ? handlers::list_messages(req, t, services_)
                                       : handlers::post_message(req, services_, *who);
    case resource::message:
      return req.method() == verb::get ? handlers::get_message(req, t, ctx, services_, *who, *id)
                                       : handlers::delete_message(req, services_, *who, *id);
    case resource::none:
      break;
  }
  return error_response(api_error::not_found, req);
}

response router::handle(const request& req, const request_context& ctx) {
  auto answer = std::get<reply>(route(req, ctx, auth::hashing::allowed));
  if (answer.audit) {
    if (auto audited = services_.club.members().add_audit(*answer.audit); !audited) {
      log::error("audit: " + audited.error().message());
      return error_response(api_error::internal, req);
    }
  }
  return std::move(answer.res);
}

}  // namespace hush::http
