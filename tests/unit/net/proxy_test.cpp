#include "net/proxy.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hush::net {
namespace {

using bytes = std::vector<std::uint8_t>;
using state = proxy_v2_header::state;

std::vector<cidr> networks(std::initializer_list<const char*> texts) {
  std::vector<cidr> out;
  for (const char* text : texts) {
    out.push_back(parse_cidr(text).value());
  }
  return out;
}

// X-Forwarded-For behind two proxies of ours: 10.0.0.0/8 and 2001:db8:ffff::/48.
const std::vector<cidr>& ours() {
  static const auto trusted = networks({"10.0.0.0/8", "2001:db8:ffff::/48"});
  return trusted;
}

TEST(ForwardedClient, TheRightmostUntrustedHopIsTheClient) {
  EXPECT_EQ(forwarded_client("203.0.113.7", ours()), "203.0.113.7");
  EXPECT_EQ(forwarded_client("203.0.113.7, 10.0.0.2", ours()), "203.0.113.7");
  EXPECT_EQ(forwarded_client("203.0.113.7,10.0.0.3,10.0.0.2", ours()), "203.0.113.7");
  EXPECT_EQ(forwarded_client("2001:db8::5, 2001:db8:ffff::1", ours()), "2001:db8::5");
  EXPECT_EQ(forwarded_client("2001:db8::5, 10.0.0.2", ours()), "2001:db8::5");
  // With no proxy trusted, the last hop is the client (nobody else's word counts).
  EXPECT_EQ(forwarded_client("198.51.100.1, 203.0.113.7", {}), "203.0.113.7");
}

TEST(ForwardedClient, HopsLeftOfTheClientAreTheClientsOwnSayAndIgnored) {
  // A client that sends its own X-Forwarded-For cannot pick its address, however it writes it.
  EXPECT_EQ(forwarded_client("10.0.0.1, 203.0.113.7, 10.0.0.2", ours()), "203.0.113.7");
  EXPECT_EQ(forwarded_client("127.0.0.1, 203.0.113.7", ours()), "203.0.113.7");
  EXPECT_EQ(forwarded_client("not an address, 203.0.113.7, 10.0.0.2", ours()), "203.0.113.7");
  EXPECT_EQ(forwarded_client("[::1]:80,, 203.0.113.7", ours()), "203.0.113.7");
}

TEST(ForwardedClient, EveryHopTrustedGivesTheLeftmost) {
  EXPECT_EQ(forwarded_client("10.0.0.3, 10.0.0.2", ours()), "10.0.0.3");
  EXPECT_EQ(forwarded_client("10.0.0.9", ours()), "10.0.0.9");
  EXPECT_EQ(forwarded_client("2001:db8:ffff::9, 10.0.0.2", ours()), "2001:db8:ffff::9");
}

TEST(ForwardedClient, GarbageBeforeTheClientGivesNothing) {
  // Walking from the right, a hop that is not an address comes before any untrusted one.
  for (const char* header :
       {"203.0.113.7, garbage, 10.0.0.2", "203.0.113.7, 10.0.0.2:8080", "203.0.113.7:1234",
        "[2001:db8::5]", "203.0.113.7, unknown", "203.0.113.7, ", "203.0.113.7,",
        "203.0.113.7, 10.0.0.2, fe80::1%eth0", "203.0.113.7 10.0.0.2", "garbage",
        "10.0.0.3, 10.0.0.2, 10.0.0.256", "_hidden, 10.0.0.2"}) {
    EXPECT_EQ(forwarded_client(header, ours()), std::nullopt) << header;
  }
}

TEST(ForwardedClient, AnEmptyLeftmostHopIsGarbageToo) {
  // Found by fuzz_proxy: the walk stopped before the leftmost hop when it was empty, so every hop
  // trusted gave the next one as the client, where any other garbage there gives nothing.
  EXPECT_EQ(forwarded_client(", 10.0.0.7, 10.0.0.5", ours()), std::nullopt);
  EXPECT_EQ(forwarded_client(",10.0.0.2", ours()), std::nullopt);
  EXPECT_EQ(forwarded_client(" ,10.0.0.2", ours()), std::nullopt);
  EXPECT_EQ(forwarded_client("garbage, 10.0.0.7, 10.0.0.5", ours()), std::nullopt);
  // Left of an untrusted hop, it is the client's own say, ignored as any other.
  EXPECT_EQ(forwarded_client(", 203.0.113.7, 10.0.0.5", ours()), "203.0.113.7");
}

TEST(ForwardedClient, SpacesAndTabsAroundHopsAreTrimmed) {
  EXPECT_EQ(forwarded_client("  203.0.113.7 ,\t10.0.0.2  ", ours()), "203.0.113.7");
  EXPECT_EQ(forwarded_client("\t203.0.113.7\t", ours()), "203.0.113.7");
  EXPECT_EQ(forwarded_client("203.0.113.7 ,   10.0.0.2", ours()), "203.0.113.7");
}

TEST(ForwardedClient, EmptyGivesNothing) {
  EXPECT_EQ(forwarded_client("", ours()), std::nullopt);
  EXPECT_EQ(forwarded_client(" ", ours()), std::nullopt);
  EXPECT_EQ(forwarded_client(",", ours()), std::nullopt);
  EXPECT_EQ(forwarded_client("", {}), std::nullopt);
}

TEST(ForwardedClient, AddressesComeBackInNormalForm) {
  EXPECT_EQ(forwarded_client("2001:DB8:0:0:0:0:0:0005, 10.0.0.2", ours()), "2001:db8::5");
  EXPECT_EQ(forwarded_client("::ffff:203.0.113.7", ours()), "203.0.113.7");
  // A trusted proxy written as mapped IPv6 is still trusted.
  EXPECT_EQ(forwarded_client("203.0.113.7, ::ffff:10.0.0.2", ours()), "203.0.113.7");
}

TEST(IsTrusted, OnlyAddressesInsideTheNetworks) {
  EXPECT_TRUE(is_trusted(ours(), "10.1.2.3"));
  EXPECT_TRUE(is_trusted(ours(), "2001:db8:ffff:1::1"));
  EXPECT_FALSE(is_trusted(ours(), "11.1.2.3"));
  EXPECT_FALSE(is_trusted(ours(), "2001:db8::1"));
  EXPECT_FALSE(is_trusted(ours(), "garbage"));
  EXPECT_FALSE(is_trusted({}, "10.1.2.3"));
}

// A PROXY protocol v2 header as the spec lays it out
// (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt, section 2.2), byte by byte.
constexpr std::uint8_t sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                  0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
constexpr std::uint8_t v2_local = 0x20;  // version 2, command LOCAL
constexpr std::uint8_t v2_proxy = 0x21;  // version 2, command PROXY
constexpr std::uint8_t unspec = 0x00;
constexpr std::uint8_t tcp4 = 0x11;
constexpr std::uint8_t udp4 = 0x12;
constexpr std::uint8_t tcp6 = 0x21;
constexpr std::uint8_t unix_stream = 0x31;

bytes header(std::uint8_t version_command, std::uint8_t family, const bytes& rest) {
  bytes out(std::begin(sig), std::end(sig));
  out.push_back(version_command);
  out.push_back(family);
  out.push_back(static_cast<std::uint8_t>(rest.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(rest.size() & 0xff));
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

// Source 192.0.2.10:54321, destination 198.51.100.1:443.
bytes tcp4_addresses() {
  return {192, 0, 2, 10, 198, 51, 100, 1, 0xd4, 0x31, 0x01, 0xbb};
}

// Source 2001:db8::7 port 54321, destination 2001:db8::1 port 443.
bytes tcp6_addresses() {
  bytes out = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07};
  const bytes dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
  out.insert(out.end(), dst.begin(), dst.end());
  out.insert(out.end(), {0xd4, 0x31, 0x01, 0xbb});
  return out;
}

// A type-length-value: one byte of type, two of length (big-endian), the value.
void add_tlv(bytes& out, std::uint8_t type, std::string_view value) {
  out.push_back(type);
  out.push_back(static_cast<std::uint8_t>(value.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(value.size() & 0xff));
  out.insert(out.end(), value.begin(), value.end());
}

proxy_v2_header parse(const bytes& b) {
  return parse_proxy_v2(std::span<const std::uint8_t>(b.data(), b.size()));
}

TEST(ProxyV2, Tcp4) {
  const auto h = header(v2_proxy, tcp4, tcp4_addresses());
  ASSERT_EQ(h.size(), 28U);
  const auto parsed = parse(h);
  EXPECT_EQ(parsed.at, state::complete);
  EXPECT_EQ(parsed.size, 28U);
  EXPECT_EQ(parsed.client, "192.0.2.10");
}

TEST(ProxyV2, Tcp6) {
  const auto h = header(v2_proxy, tcp6, tcp6_addresses());
  ASSERT_EQ(h.size(), 52U);
  const auto parsed = parse(h);
  EXPECT_EQ(parsed.at, state::complete);
  EXPECT_EQ(parsed.size, 52U);
  EXPECT_EQ(parsed.client, "2001:db8::7");

  // A mapped IPv4 source over IPv6 is named as the IPv4 address it is.
  auto mapped = tcp6_addresses();
  const bytes source = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 7};
  std::copy(source.begin(), source.end(), mapped.begin());
  EXPECT_EQ(parse(header(v2_proxy, tcp6, mapped)).client, "203.0.113.7");
}

TEST(ProxyV2, BytesAfterTheHeaderAreNotPartOfIt) {
  auto h = header(v2_proxy, tcp4, tcp4_addresses());
  // The client's ClientHello follows at once.
  h.insert(h.end(), {0x16, 0x03, 0x01, 0x02, 0x00, 0x01});
  const auto parsed = parse(h);
  EXPECT_EQ(parsed.at, state::complete);
  EXPECT_EQ(parsed.size, 28U);
  EXPECT_EQ(parsed.client, "192.0.2.10");
}

TEST(ProxyV2, LocalIsTheProxyItselfWithNoClient) {
  // HAProxy's health checks: LOCAL, UNSPEC, no address block.
  const auto bare = parse(header(v2_local, unspec, {}));
  EXPECT_EQ(bare.at, state::complete);
  EXPECT_EQ(bare.size, 16U);
  EXPECT_EQ(bare.client, std::nullopt);
  // LOCAL with addresses: they are skipped, not believed.
  const auto with_addresses = parse(header(v2_local, tcp4, tcp4_addresses()));
  EXPECT_EQ(with_addresses.at, state::complete);
  EXPECT_EQ(with_addresses.size, 28U);
  EXPECT_EQ(with_addresses.client, std::nullopt);
}

TEST(ProxyV2, UnspecAndOtherFamiliesNameNoClient) {
  const auto unspecified = parse(header(v2_proxy, unspec, {}));
  EXPECT_EQ(unspecified.at, state::complete);
  EXPECT_EQ(unspecified.size, 16U);
  EXPECT_EQ(unspecified.client, std::nullopt);

  const auto udp = parse(header(v2_proxy, udp4, tcp4_addresses()));
  EXPECT_EQ(udp.at, state::complete);
  EXPECT_EQ(udp.client, std::nullopt);

  const auto unix_socket = parse(header(v2_proxy, unix_stream, bytes(216, 'x')));
  EXPECT_EQ(unix_socket.at, state::complete);
  EXPECT_EQ(unix_socket.size, 16U + 216U);
  EXPECT_EQ(unix_socket.client, std::nullopt);
}

TEST(ProxyV2, TlvsAfterTheAddressesAreSkipped) {
  auto rest = tcp4_addresses();
  add_tlv(rest, 0x01, "h2");                                         // PP2_TYPE_ALPN
  add_tlv(rest, 0x02, "club.example");                               // PP2_TYPE_AUTHORITY
  add_tlv(rest, 0x04, std::string(7, '\0'));                         // PP2_TYPE_NOOP
  add_tlv(rest, 0x05, "\x01\x02\x03\x04");                           // PP2_TYPE_UNIQUE_ID
  add_tlv(rest, 0x20, std::string_view("\x07\x00\x00\x00\x00", 5));  // PP2_TYPE_SSL
  const auto h = header(v2_proxy, tcp4, rest);
  const auto parsed = parse(h);
  EXPECT_EQ(parsed.at, state::complete);
  EXPECT_EQ(parsed.size, h.size());
  EXPECT_EQ(parsed.client, "192.0.2.10");

  auto rest6 = tcp6_addresses();
  add_tlv(rest6, 0x01, "http/1.1");
  const auto h6 = header(v2_proxy, tcp6, rest6);
  EXPECT_EQ(parse(h6).size, h6.size());
  EXPECT_EQ(parse(h6).client, "2001:db8::7");
}

TEST(ProxyV2, EveryPrefixIsIncompleteAndSaysHowMuchIsNeeded) {
  auto rest = tcp6_addresses();
  add_tlv(rest, 0x01, "h2");
  for (const auto& whole : {header(v2_proxy, tcp4, tcp4_addresses()), header(v2_proxy, tcp6, rest),
                            header(v2_local, unspec, {})}) {
    for (std::size_t n = 0; n < whole.size(); ++n) {
      const bytes prefix(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
      const auto parsed = parse(prefix);
      EXPECT_EQ(parsed.at, state::incomplete) << n << " of " << whole.size();
      EXPECT_EQ(parsed.size, n < 16 ? 16U : whole.size()) << n << " of " << whole.size();
      EXPECT_EQ(parsed.client, std::nullopt) << n;
    }
    EXPECT_EQ(parse(whole).at, state::complete);
  }
}

TEST(ProxyV2, WrongVersionIsInvalid) {
  for (const std::uint8_t version_command :
       std::initializer_list<std::uint8_t>{0x01, 0x11, 0x12, 0x31, 0x41, 0xf1, 0x00, 0x10}) {
    EXPECT_EQ(parse(header(version_command, tcp4, tcp4_addresses())).at, state::invalid)
        << int{version_command};
  }
}

TEST(ProxyV2, UnknownCommandIsInvalid) {
  for (std::uint8_t command = 2; command <= 0x0f; ++command) {
    EXPECT_EQ(parse(header(static_cast<std::uint8_t>(0x20 | command), tcp4, tcp4_addresses())).at,
              state::invalid)
        << int{command};
  }
}

TEST(ProxyV2, OversizeLengthIsInvalidBeforeTheRestArrives) {
  // Only the fixed part: the length alone decides, so nothing waits for 64 KiB that never comes.
  for (const std::uint16_t length : std::initializer_list<std::uint16_t>{1025, 4096, 0xffff}) {
    bytes fixed(std::begin(sig), std::end(sig));
    fixed.insert(fixed.end(), {v2_proxy, tcp4, static_cast<std::uint8_t>(length >> 8),
                               static_cast<std::uint8_t>(length & 0xff)});
    EXPECT_EQ(parse(fixed).at, state::invalid) << length;
  }
  // The largest length allowed is waited for, and read.
  auto rest = tcp4_addresses();
  add_tlv(rest, 0x04, std::string(1024 - 12 - 3, '\0'));
  ASSERT_EQ(rest.size(), 1024U);
  const auto h = header(v2_proxy, tcp4, rest);
  ASSERT_EQ(h.size(), proxy_v2_max_size);
  EXPECT_EQ(parse(bytes(h.begin(), h.begin() + 16)).at, state::incomplete);
  EXPECT_EQ(parse(bytes(h.begin(), h.begin() + 16)).size, proxy_v2_max_size);
  const auto parsed = parse(h);
  EXPECT_EQ(parsed.at, state::complete);
  EXPECT_EQ(parsed.client, "192.0.2.10");
}

TEST(ProxyV2, AddressBlockTooShortForItsFamilyIsInvalid) {
  auto short4 = tcp4_addresses();
  short4.pop_back();
  EXPECT_EQ(parse(header(v2_proxy, tcp4, short4)).at, state::invalid);
  EXPECT_EQ(parse(header(v2_proxy, tcp4, {})).at, state::invalid);
  auto short6 = tcp6_addresses();
  short6.pop_back();
  EXPECT_EQ(parse(header(v2_proxy, tcp6, short6)).at, state::invalid);
  // An IPv4 block is too short for IPv6.
  EXPECT_EQ(parse(header(v2_proxy, tcp6, tcp4_addresses())).at, state::invalid);
  // Nothing is named from a block that is refused.
  EXPECT_EQ(parse(header(v2_proxy, tcp6, short6)).client, std::nullopt);
}

TEST(ProxyV2, ATlsClientHelloIsNotProxy) {
  // The first bytes of a ClientHello: handshake record, TLS 1.0 record version, length.
  const bytes hello = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03,
                       0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  for (std::size_t n = 1; n <= hello.size(); ++n) {
    EXPECT_EQ(parse(bytes(hello.begin(), hello.begin() + static_cast<std::ptrdiff_t>(n))).at,
              state::not_proxy)
        << n;
  }
}

TEST(ProxyV2, OtherBytesThanTheSignatureAreNotProxy) {
  const std::string v1 = "PROXY TCP4 192.0.2.10 198.51.100.1 54321 443\r\n";
  EXPECT_EQ(parse(bytes(v1.begin(), v1.end())).at, state::not_proxy);
  const std::string get = "GET / HTTP/1.1\r\n";
  EXPECT_EQ(parse(bytes(get.begin(), get.end())).at, state::not_proxy);
  // The signature with any one byte changed.
  const auto good = header(v2_proxy, tcp4, tcp4_addresses());
  for (std::size_t i = 0; i < 12; ++i) {
    auto bad = good;
    bad[i] = static_cast<std::uint8_t>(bad[i] ^ 0x01U);
    EXPECT_EQ(parse(bad).at, state::not_proxy) << i;
    // Even when only the bytes up to the changed one have arrived.
    EXPECT_EQ(parse(bytes(bad.begin(), bad.begin() + static_cast<std::ptrdiff_t>(i) + 1)).at,
              state::not_proxy)
        << i;
  }
}

}  // namespace
}  // namespace hush::net
