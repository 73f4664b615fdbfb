#include "http/response.hpp"

#include <boost/json/serialize.hpp>

#include "core/error.hpp"

namespace hush::http {
namespace {

struct error_info {
  status code;
  std::string_view name;
  std::string_view message;
};

error_info info(api_error error) {
  switch (error) {
    case api_error::bad_request:
      return {status::bad_request, "bad_request", "The request is malformed."};
    case api_error::unauthorized:
      return {status::unauthorized, "unauthorized", "Authentication is required."};
    case api_error::session_expired:
      return {status::unauthorized, "session_expired", "Your session has ended. Log in again."};
    case api_error::forbidden:
      return {status::forbidden, "forbidden", "This action is not allowed for your role."};
    case api_error::cross_origin:
      return {status::forbidden, "cross_origin",
              "This request did not come from the club's own page."};
    case api_error::conflict:
      return {status::conflict, "conflict", "That conflicts with the club as it is now."};
    case api_error::not_found:
      return {status::not_found, "not_found", "Nothing is here."};
    case api_error::method_not_allowed:
      return {status::method_not_allowed, "method_not_allowed", "Method not allowed."};
    case api_error::not_acceptable:
      return {status::not_acceptable, "not_acceptable",
              "The resource is not available in the requested format."};
    case api_error::payload_too_large:
      return {status::payload_too_large, "payload_too_large", "The request body is too large."};
    case api_error::headers_too_large:
      return {status::request_header_fields_too_large, "headers_too_large",
              "The request headers are too large."};
    case api_error::unsupported_media_type:
      return {status::unsupported_media_type, "unsupported_media_type", "Send application/json."};
    case api_error::too_many_requests:
      return {status::too_many_requests, "too_many_requests",
              "Too many failed attempts. Try again later."};
    case api_error::unavailable:
      return {status::service_unavailable, "unavailable", "Try again shortly."};
    case api_error::insufficient_storage:
      return {status::insufficient_storage, "insufficient_storage",
              "The server's disk is full. Nothing was written; reading still works."};
    case api_error::read_only_storage:
      return {status::insufficient_storage, "read_only_storage",
              "The server's storage is read-only. Nothing was written; reading still works."};
    case api_error::not_wiped:
      return {status::service_unavailable, "not_wiped",
              "Removed, but not yet wiped from the server's disk; the next removal wipes it."};
    case api_error::internal:
      return {status::internal_server_error, "internal", "Something went wrong."};
  }
  return {status::internal_server_error, "internal", "Something went wrong."};
}

}  // namespace

void apply_security_headers(response& res) {
  res.set(field::strict_transport_security, "max-age=31536000");
  res.set(field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Content-Security-Policy",
          "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.set("Cross-Origin-Resource-Policy", "same-origin");
}

namespace {

response error_with(api_error error, std::string_view message, unsigned version, bool keep_alive) {
  const auto [code, name, generic] = info(error);
  if (message.empty()) {
    message = generic;
  }
  response res{code, version};
  res.set(field::content_type, "application/json");
  if (error == api_error::unauthorized) {
    res.set(field::www_authenticate, "Basic realm=\"hush\", charset=\"UTF-8\"");
  }
  // A store that cannot answer now (busy, or a database server restarting) usually can within
  // seconds: say when to try again, as RFC 9110 §10.2.3 lets a 503 do.
  if (error == api_error::unavailable) {
    res.set(field::retry_after, "1");
  }
  res.body() = boost::json::serialize(boost::json::object{{"error", name}, {"message", message}});
  res.keep_alive(keep_alive);
  apply_security_headers(res);
  res.prepare_payload();
  return res;
}

}  // namespace

response error_response(api_error error, unsigned version, bool keep_alive) {
  return error_with(error, {}, version, keep_alive);
}

response error_response(api_error error, const request& req) {
  return error_response(error, req.version(), req.keep_alive());
}

response error_response(api_error error, const request& req, std::string_view message) {
  return error_with(error, message, req.version(), req.keep_alive());
}

response error_response(api_error error, const request& req, std::chrono::seconds retry_after) {
  auto res = error_response(error, req);
  res.set(field::retry_after, std::to_string(retry_after.count()));
  return res;
}

std::size_t serialized_size(const response& res, bool with_body) {
  constexpr std::size_t version_bytes = 9;  // "HTTP/1.1 "
  constexpr std::size_t crlf_bytes = 2;
  constexpr std::size_t separator_bytes = 2;  // ": "
  std::size_t size = version_bytes + std::to_string(res.result_int()).size() + 1 +
                     res.reason().size() + crlf_bytes;
  for (const auto& f : res) {
    size += f.name_string().size() + separator_bytes + f.value().size() + crlf_bytes;
  }
  size += crlf_bytes;
  return with_body ? size + res.body().size() : size;
}

void serialize(const response& res, std::string& out, bool with_body) {
  // One allocation of the right size: a string that grows frees its old block with what it held
  // (a Set-Cookie, a message's plaintext), where the caller's wipe cannot reach it.
  out.reserve(out.size() + serialized_size(res, with_body));
  out.append(res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out.append(std::to_string(res.result_int()));
  out.push_back(' ');
  const auto reason = res.reason();
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  for (const auto& f : res) {
    const auto name = f.name_string();
    const auto value = f.value();
    out.append(name.data(), name.size()).append(": ").append(value.data(), value.size());
    out.append("\r\n");
  }
  out.append("\r\n");
  if (with_body) {
    out.append(res.body());
  }
}

api_error to_api_error(std::error_code ec) noexcept {
  if (ec == errc::not_found) {
    return api_error::not_found;
  }
  if (ec == errc::unauthorized) {
    return api_error::unauthorized;
  }
  if (ec == errc::forbidden) {
    return api_error::forbidden;
  }
  if (ec == errc::expired) {
    return api_error::session_expired;
  }
  if (ec == errc::already_exists || ec == errc::conflict) {
    return api_error::conflict;
  }
  if (ec == errc::invalid_argument) {
    return api_error::bad_request;
  }
  if (ec == errc::too_large) {
    return api_error::payload_too_large;
  }
  if (ec == errc::throttled) {
    return api_error::too_many_requests;
  }
  if (ec == errc::storage_busy || ec == errc::overloaded || ec == errc::storage_unavailable) {
    return api_error::unavailable;
  }
  if (ec == errc::disk_full) {
    return api_error::insufficient_storage;
  }
  if (ec == errc::read_only) {
    return api_error::read_only_storage;
  }
  if (ec == errc::not_wiped) {
    return api_error::not_wiped;
  }
  return api_error::internal;
}

namespace {

response with_body(status s, std::string_view content_type, std::string body, const request& req) {
  response res{s, req.version()};
  res.set(field::content_type, content_type);
  res.body() = std::move(body);
  res.keep_alive(req.keep_alive());
  apply_security_headers(res);
  res.prepare_payload();
  return res;
}

}  // namespace

response page_response(std::string_view content_type, std::string_view body, const request& req) {
  auto res = with_body(status::ok, content_type, std::string(body), req);
  res.set("Content-Security-Policy",
          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
          "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  return res;
}

response no_content_response(const request& req) {
  response res{status::no_content, req.version()};
  res.keep_alive(req.keep_alive());
  apply_security_headers(res);
  res.prepare_payload();
  return res;
}

response json_response(status s, const boost::json::value& body, const request& req) {
  return with_body(s, "application/json", boost::json::serialize(body), req);
}

response text_response(status s, std::string body, const request& req) {
  return with_body(s, "text/plain; charset=utf-8", std::move(body), req);
}

}  // namespace hush::http
