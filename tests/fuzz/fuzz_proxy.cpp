// libFuzzer target: what a peer says about the client before hush believes it: the PROXY
// protocol v2 header (net::parse_proxy_v2) and X-Forwarded-For (net::forwarded_client), and the
// address and CIDR parsers under both (parse_ip, parse_cidr).
//
// Invariants checked (abort on violation):
//  - a header's size is between the fixed 16 bytes and proxy_v2_max_size; incomplete means more
//    bytes than were given are needed; complete means no more than were given were used, and the
//    same bytes cut to that size, or with more after them, parse the same; one byte fewer is
//    incomplete; not_proxy means the bytes differ from the signature within its first 12;
//  - a client named by a header is a PROXY command over TCP4 or TCP6, in the normal form of the
//    address in the header's source field;
//  - forwarded_client's answer is one of the hops, in normal form, and is a trusted proxy only if
//    every hop is;
//  - an address parses back from its text; a CIDR network parses back from its text and contains
//    its own address.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/cidr.hpp"
#include "net/proxy.hpp"

namespace {

using hush::net::proxy_v2_header;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_proxy: invariant broken: %s\n", what);
    std::abort();
  }
}

constexpr std::array<std::uint8_t, 12> signature = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                                    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

bool same(const proxy_v2_header& a, const proxy_v2_header& b) {
  return a.at == b.at && a.size == b.size && a.client == b.client;
}

void check_proxy_v2(std::span<const std::uint8_t> bytes) {
  using state = proxy_v2_header::state;
  const auto h = hush::net::parse_proxy_v2(bytes);
  check(h.size >= hush::net::proxy_v2_fixed_size && h.size <= hush::net::proxy_v2_max_size,
        "size out of range");
  check(h.at == state::complete || !h.client, "a client without a complete header");
  const auto compared = std::min(bytes.size(), signature.size());
  const bool signature_prefix = std::equal(
      bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(compared), signature.begin());
  check((h.at == state::not_proxy) == !signature_prefix, "not_proxy disagrees with the signature");
  switch (h.at) {
    case state::incomplete:
      check(h.size > bytes.size(), "incomplete, yet enough bytes were given");
      break;
    case state::not_proxy:
    case state::invalid:
      break;
    case state::complete: {
      check(h.size <= bytes.size(), "complete with more bytes than were given");
      check(same(hush::net::parse_proxy_v2(bytes.first(h.size)), h),
            "the header alone parses differently");
      const auto shorter = hush::net::parse_proxy_v2(bytes.first(h.size - 1));
      check(shorter.at == state::incomplete && shorter.size == h.size,
            "one byte fewer is not incomplete");
      std::vector<std::uint8_t> longer(bytes.begin(), bytes.end());
      longer.push_back(0x16);
      check(same(hush::net::parse_proxy_v2(longer), h), "a byte after the header changes it");
      if (h.client) {
        const auto family = bytes[13];
        check(bytes[12] == 0x21 && (family == 0x11 || family == 0x21),
              "a client from a header that is not PROXY over TCP");
        hush::ip_bytes source{};
        if (family == 0x11) {
          source[10] = 0xff;
          source[11] = 0xff;
          std::copy_n(bytes.begin() + 16, 4, source.begin() + 12);
        } else {
          std::copy_n(bytes.begin() + 16, 16, source.begin());
        }
        check(*h.client == hush::format_ip(source), "the client is not the source address");
      }
      break;
    }
  }
}

const std::vector<hush::cidr>& trusted() {
  static const auto networks = [] {
    std::vector<hush::cidr> out;
    for (const char* text : {"10.0.0.0/8", "2001:db8::/32", "127.0.0.1", "::ffff:192.0.2.0/120"}) {
      out.push_back(hush::parse_cidr(text).value());
    }
    return out;
  }();
  return networks;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

void check_forwarded(std::string_view header) {
  const auto client = hush::net::forwarded_client(header, trusted());
  if (!client) {
    return;
  }
  const auto address = hush::parse_ip(*client);
  check(address.has_value(), "the client is not an address");
  check(hush::format_ip(*address) == *client, "the client is not in normal form");
  bool is_a_hop = false;
  bool every_hop_trusted = true;
  for (std::size_t start = 0; start <= header.size();) {
    const auto comma = std::min(header.find(',', start), header.size());
    const auto hop = hush::parse_ip(trimmed(header.substr(start, comma - start)));
    is_a_hop = is_a_hop || hop == address;
    every_hop_trusted =
        every_hop_trusted && hop && hush::net::is_trusted(trusted(), hush::format_ip(*hop));
    start = comma + 1;
  }
  check(is_a_hop, "the client is none of the hops");
  check(!hush::net::is_trusted(trusted(), *client) || every_hop_trusted,
        "a trusted proxy named as the client while an untrusted hop was there");
}

void check_addresses(std::string_view text) {
  if (const auto address = hush::parse_ip(text)) {
    check(hush::parse_ip(hush::format_ip(*address)) == address, "an address does not parse back");
  }
  if (const auto network = hush::parse_cidr(text)) {
    check(hush::parse_cidr(network->to_string()) == network, "a network does not parse back");
    check(network->contains(network->network), "a network does not contain its own address");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_proxy_v2(std::span<const std::uint8_t>(data, size));
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_forwarded(text);
  check_addresses(text);
  return 0;
}
