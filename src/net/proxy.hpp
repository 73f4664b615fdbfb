#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/cidr.hpp"

namespace hush::net {

// Behind a reverse proxy the peer is the proxy: the client's address comes from what a trusted
// proxy reports, and only a trusted one ([server] trusted_proxies). Pure functions, fuzzed and
// unit-tested without sockets.

bool is_trusted(const std::vector<cidr>& trusted, std::string_view address);

// X-Forwarded-For's values (every such header, in order, joined by commas): the rightmost hop
// that is not a trusted proxy is the client (hops to its left are the client's own say, which
// anyone can forge); if every hop is trusted, the leftmost. Each hop a bare IPv4 or IPv6 address;
// nullopt when the walk meets anything else before the client, or there is no hop.
std::optional<std::string> forwarded_client(std::string_view forwarded_for,
                                            const std::vector<cidr>& trusted);

// The PROXY protocol's version 2 header (HAProxy's send-proxy-v2), which a proxy in TCP mode
// sends before the client's first byte.
inline constexpr std::size_t proxy_v2_fixed_size = 16;
inline constexpr std::size_t proxy_v2_max_size = 16 + 1024;  // addresses and a few TLVs

struct proxy_v2_header {
  enum class state {
    incomplete,  // a prefix of a header: at least `size` bytes are needed
    not_proxy,   // these bytes do not begin with the signature (a TLS ClientHello, say)
    invalid,     // the signature, then something no proxy sends: close the connection
    complete,    // a whole header of `size` bytes
  };
  state at = state::incomplete;
  std::size_t size = proxy_v2_fixed_size;
  // The client's address for a proxied TCP connection; nullopt for LOCAL (the proxy's own health
  // check) and for families other than TCP over IPv4 or IPv6.
  std::optional<std::string> client;
};

proxy_v2_header parse_proxy_v2(std::span<const std::uint8_t> bytes);

}  // namespace hush::net
