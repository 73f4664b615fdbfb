#include "net/proxy.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace hush::net {
namespace {

constexpr std::array<std::uint8_t, 12> signature = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                                    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

bool is_trusted(const std::vector<cidr>& trusted, std::string_view address) {
  const auto parsed = parse_ip(address);
  return parsed && std::any_of(trusted.begin(), trusted.end(),
                               [&](const cidr& network) { return network.contains(*parsed); });
}

std::optional<std::string> forwarded_client(std::string_view forwarded_for,
                                            const std::vector<cidr>& trusted) {
  std::optional<std::string> leftmost_trusted;
  // Until the hop left of the last comma has been looked at too, even when it is empty: ", x"
  // has two hops, and an empty one is not an address.
  for (bool more = true; more;) {
    const auto comma = forwarded_for.rfind(',');
    more = comma != std::string_view::npos;
    const auto hop = trimmed(more ? forwarded_for.substr(comma + 1) : forwarded_for);
    forwarded_for = more ? forwarded_for.substr(0, comma) : std::string_view{};
    const auto address = parse_ip(hop);
    if (!address) {
      return std::nullopt;
    }
    const bool proxy = std::any_of(trusted.begin(), trusted.end(),
                                   [&](const cidr& network) { return network.contains(*address); });
    if (!proxy) {
      return format_ip(*address);
    }
    leftmost_trusted = format_ip(*address);
  }
  return leftmost_trusted;
}

proxy_v2_header parse_proxy_v2(std::span<const std::uint8_t> bytes) {
  proxy_v2_header out;
  const auto compared = std::min(bytes.size(), signature.size());
  if (!std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(compared),
                  signature.begin())) {
    out.at = proxy_v2_header::state::not_proxy;
    return out;
  }
  if (bytes.size() < proxy_v2_fixed_size) {
    return out;  // incomplete, 16 bytes needed
  }
  const std::uint8_t version = bytes[12] >> 4;
  const std::uint8_t command = bytes[12] & 0x0f;
  const std::uint8_t family = bytes[13];
  const std::size_t length = (std::size_t{bytes[14]} << 8) | bytes[15];
  if (version != 2 || command > 1 || proxy_v2_fixed_size + length > proxy_v2_max_size) {
    out.at = proxy_v2_header::state::invalid;
    return out;
  }
  out.size = proxy_v2_fixed_size + length;
  if (bytes.size() < out.size) {
    return out;  // incomplete, out.size needed
  }
  out.at = proxy_v2_header::state::complete;
  if (command == 0) {
    return out;  // LOCAL: the proxy speaking for itself
  }
  const auto addresses = bytes.subspan(proxy_v2_fixed_size, length);
  ip_bytes client{};
  if (family == 0x11) {  // TCP over IPv4: source, destination, source port, destination port
    if (length < 12) {
      out.at = proxy_v2_header::state::invalid;
      return out;
    }
    client[10] = 0xff;
    client[11] = 0xff;
    std::memcpy(client.data() + 12, addresses.data(), 4);
    out.client = format_ip(client);
  } else if (family == 0x21) {  // TCP over IPv6
    if (length < 36) {
      out.at = proxy_v2_header::state::invalid;
      return out;
    }
    std::memcpy(client.data(), addresses.data(), 16);
    out.client = format_ip(client);
  }
  return out;
}

}  // namespace hush::net
