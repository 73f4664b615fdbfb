#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hush {

// An IP address in 16 bytes (IPv4 as IPv4-mapped IPv6), so that one comparison serves both.
using ip_bytes = std::array<std::uint8_t, 16>;

// "203.0.113.7", "2001:db8::1" (no brackets, no zone, no port); nullopt for anything else.
std::optional<ip_bytes> parse_ip(std::string_view text);
// The address as text: dotted IPv4 for a mapped address, RFC 5952 IPv6 otherwise.
std::string format_ip(const ip_bytes& address);

// A network in CIDR form: "10.0.0.0/8", "2001:db8::/32"; a bare address is a /32 or /128.
struct cidr {
  ip_bytes network{};
  unsigned prefix = 0;  // of the 128 bits (an IPv4 /8 is 96 + 8)
  bool v4 = false;

  bool contains(const ip_bytes& address) const noexcept;
  bool contains(std::string_view address) const;
  // As it was written, normalised ("10.0.0.0/8").
  std::string to_string() const;
  bool operator==(const cidr&) const = default;
};

// nullopt for anything but an address with an optional /prefix in range. Host bits set past the
// prefix ("10.0.0.1/8") are refused too: a typo more often than not.
std::optional<cidr> parse_cidr(std::string_view text);

}  // namespace hush
