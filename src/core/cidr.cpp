#include "core/cidr.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>

namespace hush {
namespace {

constexpr unsigned v4_offset = 96;  // bits before an IPv4 address inside its mapped IPv6 form

bool is_v4_mapped(const ip_bytes& a) {
  for (std::size_t i = 0; i < 10; ++i) {
    if (a[i] != 0) {
      return false;
    }
  }
  return a[10] == 0xff && a[11] == 0xff;
}

}  // namespace

std::optional<ip_bytes> parse_ip(std::string_view text) {
  // inet_pton reads a C string: a NUL inside the view would end the text early and let the bytes
  // after it through unread ("10.0.0.1\0junk").
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN ||
      text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  char buffer[INET6_ADDRSTRLEN] = {};
  std::memcpy(buffer, text.data(), text.size());
  ip_bytes out{};
  in_addr v4{};
  if (::inet_pton(AF_INET, buffer, &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, buffer, &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

std::string format_ip(const ip_bytes& address) {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (is_v4_mapped(address)) {
    ::inet_ntop(AF_INET, address.data() + 12, buffer, sizeof buffer);
  } else {
    ::inet_ntop(AF_INET6, address.data(), buffer, sizeof buffer);
  }
  return buffer;
}

bool cidr::contains(const ip_bytes& address) const noexcept {
  // An IPv6 network holds IPv4 clients (which reach us as mapped addresses) only when it was
  // written in the mapped range itself: "::/64" must not trust every IPv4 address.
  if (!v4 && is_v4_mapped(address) && !(prefix >= v4_offset && is_v4_mapped(network))) {
    return false;
  }
  unsigned bits = prefix;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
    if ((address[i] & mask) != (network[i] & mask)) {
      return false;
    }
    bits -= take;
  }
  return true;
}

bool cidr::contains(std::string_view address) const {
  const auto parsed = parse_ip(address);
  return parsed && contains(*parsed);
}

std::string cidr::to_string() const {
  // A mapped network written as IPv6 ("::ffff:10.0.0.0/104") stays IPv6: its prefix counts all
  // 128 bits, which the dotted form would not parse back with.
  const auto address =
      !v4 && is_v4_mapped(network) ? "::ffff:" + format_ip(network) : format_ip(network);
  return address + "/" + std::to_string(v4 ? prefix - v4_offset : prefix);
}

std::optional<cidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const auto address = parse_ip(text.substr(0, slash));
  if (!address) {
    return std::nullopt;
  }
  cidr out;
  out.network = *address;
  out.v4 = is_v4_mapped(*address) && text.substr(0, slash).find(':') == std::string_view::npos;
  const unsigned width = out.v4 ? 32 : 128;
  unsigned prefix = width;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        prefix > width || (digits.size() > 1 && digits.front() == '0')) {
      return std::nullopt;
    }
  }
  out.prefix = out.v4 ? v4_offset + prefix : prefix;
  // No host bits past the prefix.
  for (unsigned bit = out.prefix; bit < 128; ++bit) {
    if ((out.network[bit / 8] >> (7 - bit % 8)) & 1) {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace hush
