#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/challenge_tokens.hpp"
#include "http/types.hpp"

namespace hush::http {

// The plain-HTTP listener's whole behaviour (server.redirect_http): a 301 to the same host and
// path over HTTPS on `https_port`, or the key authorization of a known ACME HTTP-01 token, and
// nothing else: no route, no login, no secret. A request without a usable Host (missing, or not
// a host name or address) gets 400, since there is nowhere to send it. Every answer closes the
// connection.
response answer_plain_http(const request& req, const challenge_tokens& tokens,
                           std::uint16_t https_port);

// The host part of a Host header, lower-cased, without its port: "club.example.org",
// "192.0.2.7", "[2001:db8::1]"; nullopt when it is not one of those forms.
std::optional<std::string> host_of(std::string_view host_header);

}  // namespace hush::http
