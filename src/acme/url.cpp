#include "acme/url.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "core/text.hpp"
namespace hush::acme {
namespace {

constexpr std::size_t max_port = 65535;

bool all_of(std::string_view text, std::string_view allowed_punctuation) {
  return std::all_of(text.begin(), text.end(), [allowed_punctuation](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           allowed_punctuation.find(c) != std::string_view::npos;
  });
}

[[noreturn]] void refuse(std::string_view url) {
  std::string what = "\"";
  what += url;
  what += "\" is not an https:// URL the ACME client follows";
  throw std::runtime_error(what);
}

}  // namespace

std::string https_url::origin() const {
  std::string out = host;
  out += ':';
  out += port;
  return out;
}

https_url parse_https_url(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (url.size() < scheme.size() || ascii_lower(url.substr(0, scheme.size())) != scheme) {
    refuse(url);
  }
  const auto rest = url.substr(scheme.size());
  const auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  https_url out;
  if (end != std::string_view::npos) {
    const auto tail = rest.substr(end, rest.find('#', end) - end);
    // Appended piece by piece: gcc 12 at -O3 sees a false overlap in "/" + std::string(...)
    // (-Wrestrict), which HUSH_WERROR makes an error.
    out.target.clear();
    if (tail.front() != '/') {
      out.target += '/';
    }
    out.target += tail;
  }
  std::string_view host;
  std::string_view port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      refuse(url);
    }
    host = authority.substr(1, close - 1);
    const auto after = authority.substr(close + 1);
    if ((!after.empty() && !after.starts_with(":")) || after == ":") {
      refuse(url);
    }
    port = after.empty() ? std::string_view() : after.substr(1);
    if (host.empty() || !all_of(host, ":.") ||
        std::all_of(host.begin(), host.end(), [](char c) { return c != ':'; })) {
      refuse(url);
    }
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    port = colon == std::string_view::npos ? std::string_view() : authority.substr(colon + 1);
    if (host.empty() || !all_of(host, ".-")) {
      refuse(url);
    }
  }
  if (authority.find(':') != std::string_view::npos && !authority.starts_with("[") &&
      port.empty()) {
    refuse(url);
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      refuse(url);
    }
    const auto number = std::stoul(std::string(port));
    if (number == 0 || number > max_port) {
      refuse(url);
    }
    out.port = std::to_string(number);
  }
  out.host = ascii_lower(host);
  return out;
}

}  // namespace hush::acme
