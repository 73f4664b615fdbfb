#include "http/redirect.hpp"

#include <algorithm>
#include <cctype>

#include "core/text.hpp"
#include "http/response.hpp"

namespace hush::http {
namespace {

constexpr std::string_view challenge_prefix = "/.well-known/acme-challenge/";
constexpr std::size_t max_host_name = 253;
constexpr std::size_t max_label = 63;
constexpr std::size_t max_port_digits = 5;
// An ACME token is base64url, 43 characters from Let's Encrypt and Pebble; room to spare.
constexpr std::size_t max_token = 256;
constexpr std::uint16_t default_https_port = 443;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_base64url(std::string_view text) {
  return !text.empty() && text.size() <= max_token &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
         });
}

bool is_port(std::string_view text) {
  return !text.empty() && text.size() <= max_port_digits &&
         std::all_of(text.begin(), text.end(), is_digit);
}

// Letters, digits and hyphens in dot-separated labels of 1 to 63 (an IPv4 address is one of
// these too); one trailing dot, as in a fully qualified name, is allowed.
bool is_host_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);
  }
  if (name.empty() || name.size() > max_host_name) {
    return false;
  }
  std::size_t label = 0;
  for (const char c : name) {
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-') {
      if (++label > max_label) {
        return false;
      }
    } else {
      return false;
    }
  }
  return label > 0;
}

bool is_ipv6_literal(std::string_view inside) {
  return !inside.empty() && inside.find(':') != std::string_view::npos &&
         std::all_of(inside.begin(), inside.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
         });
}

response closing(response res) {
  res.keep_alive(false);
  return res;
}

}  // namespace

std::optional<std::string> host_of(std::string_view host_header) {
  std::string_view host = host_header;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos || !is_ipv6_literal(host.substr(1, close - 1))) {
      return std::nullopt;
    }
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') {
        return std::nullopt;
      }
      port = host.substr(close + 2);
      if (!is_port(port)) {
        return std::nullopt;
      }
    }
    return ascii_lower(host.substr(0, close + 1));
  }
  if (const auto colon = host.find(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (!is_port(port)) {
      return std::nullopt;
    }
  }
  if (!is_host_name(host)) {
    return std::nullopt;
  }
  return ascii_lower(host);
}

response answer_plain_http(const request& req, const challenge_tokens& tokens,
                           std::uint16_t https_port) {
  const std::string_view target = req.target();
  if (target.starts_with(challenge_prefix)) {
    const auto token = target.substr(challenge_prefix.size());
    const bool reads = req.method() == verb::get || req.method() == verb::head;
    if (reads && is_base64url(token)) {
      if (auto answer = tokens.find(token)) {
        auto res = text_response(status::ok, std::move(*answer), req);
        res.set(field::content_type, "application/octet-stream");
        return closing(std::move(res));
      }
    }
    return closing(text_response(status::not_found, "not found\n", req));
  }
  // RFC 9112 §3.2: a request with more than one Host is answered 400.
  const auto host = req.count(field::host) == 1 ? host_of(req[field::host]) : std::nullopt;
  if (!host || target.empty() || target.front() != '/') {
    return closing(text_response(status::bad_request, "bad request\n", req));
  }
  auto res = text_response(status::moved_permanently, "moved to https\n", req);
  // Appended piece by piece: gcc 12 at -O3 sees a false overlap in ":" + std::to_string(...)
  // (-Wrestrict), which HUSH_WERROR makes an error.
  std::string location = "https://";
  location += *host;
  if (https_port != default_https_port) {
    location += ':';
    location += std::to_string(https_port);
  }
  // A target's bytes outside printable ASCII (UTF-8 a browser sent raw, say) are percent-encoded
  // (RFC 3986 §2.1): a Location header carries ASCII only, and a client must not be left to
  // guess how to read the rest.
  constexpr std::string_view hex = "0123456789ABCDEF";
  for (const char c : target) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20U || byte >= 0x7fU) {
      location += '%';
      location += hex[byte >> 4U];
      location += hex[byte & 0x0fU];
    } else {
      location += c;
    }
  }
  res.set(field::location, location);
  return closing(std::move(res));
}

}  // namespace hush::http
