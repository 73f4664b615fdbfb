#pragma once

#include <string>
#include <string_view>

namespace hush::acme {

// An https:// URL as the client reaches it. One parser for the origin check and the transport,
// so that the host checked is the host connected to.
struct https_url {
  std::string host;  // in lower case; an IPv6 address without its brackets
  std::string port = "443";
  std::string target = "/";  // the path and query
  // "host:port", the same for every spelling of one origin ("HTTPS://CA:443/x" and "https://ca/").
  std::string origin() const;
};

// Strict: the scheme https (any case); a host of letters, digits, dots and hyphens, or a bracketed
// IPv6 address; an optional port of digits (1 to 65535); no user information. Throws
// std::runtime_error naming the URL.
https_url parse_https_url(std::string_view url);

}  // namespace hush::acme
