#include "core/cidr.hpp"

#include <string>

#include <gtest/gtest.h>

namespace hush {
namespace {

ip_bytes v4_mapped(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  ip_bytes out{};
  out[10] = 0xff;
  out[11] = 0xff;
  out[12] = a;
  out[13] = b;
  out[14] = c;
  out[15] = d;
  return out;
}

TEST(ParseIp, Ipv4IsStoredMapped) {
  const auto parsed = parse_ip("203.0.113.7");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, v4_mapped(203, 0, 113, 7));
  EXPECT_EQ(parse_ip("0.0.0.0"), v4_mapped(0, 0, 0, 0));
  EXPECT_EQ(parse_ip("255.255.255.255"), v4_mapped(255, 255, 255, 255));
}

TEST(ParseIp, Ipv6) {
  const auto parsed = parse_ip("2001:db8::1");
  ASSERT_TRUE(parsed);
  const ip_bytes expected = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(*parsed, expected);
  ip_bytes loopback{};
  loopback[15] = 1;
  EXPECT_EQ(parse_ip("::1"), loopback);
  EXPECT_EQ(parse_ip("::"), ip_bytes{});
  EXPECT_EQ(parse_ip("2001:0DB8:0000:0000:0000:0000:0000:0001"), expected);
}

TEST(ParseIp, MappedIpv6IsTheSameAddressAsIpv4) {
  EXPECT_EQ(parse_ip("::ffff:192.0.2.1"), parse_ip("192.0.2.1"));
  EXPECT_EQ(parse_ip("::ffff:c000:201"), parse_ip("192.0.2.1"));
  // The longest text an address can have (45 characters) still fits.
  const std::string longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
  ASSERT_EQ(longest.size(), 45U);
  EXPECT_TRUE(parse_ip(longest));
}

TEST(ParseIp, GarbageIsRefused) {
  for (const char* bad : {"",          " ",         "abc",         "1.2.3",    "1.2.3.4.5",
                          "256.1.1.1", "1.2.3.-1",  " 1.2.3.4",    "1.2.3.4 ", "01.2.3.4",
                          "1.2.3.04",  "0x1.2.3.4", "1.2.3.4/8",   "1..2.3",   "1.2.3.4,",
                          ":::",       "1::2::3",   "2001:db8::g", "12345::",  "::ffff:01.2.3.4",
                          "localhost", "1.2.3.4\n"}) {
    EXPECT_FALSE(parse_ip(bad)) << '"' << bad << '"';
  }
}

TEST(ParseIp, OverlongTextIsRefused) {
  EXPECT_FALSE(parse_ip(std::string(46, '1')));
  EXPECT_FALSE(parse_ip(std::string(4096, ':')));
  // A valid address followed by padding that would not fit the buffer.
  EXPECT_FALSE(parse_ip("1.2.3.4" + std::string(100, ' ')));
  EXPECT_FALSE(parse_ip("0000:0000:0000:0000:0000:0000:0000:0000:0000"));
}

TEST(ParseIp, BracketsPortsAndZonesAreRefused) {
  for (const char* bad : {"[::1]", "[::1]:443", "1.2.3.4:443", "[1.2.3.4]", "fe80::1%eth0",
                          "fe80::1%1", "2001:db8::1:443]", "::1]"}) {
    EXPECT_FALSE(parse_ip(bad)) << bad;
  }
}

TEST(ParseIp, EmbeddedNulIsRefused) {
  // The text is a string_view, not a C string: nothing after a NUL may be dropped quietly.
  EXPECT_FALSE(parse_ip(std::string_view("1.2.3.4\0garbage", 15)));
  EXPECT_FALSE(parse_ip(std::string_view("::1\0", 4)));
  EXPECT_FALSE(parse_ip(std::string_view("\0", 1)));
}

TEST(FormatIp, DottedIpv4AndRfc5952Ipv6) {
  EXPECT_EQ(format_ip(v4_mapped(203, 0, 113, 7)), "203.0.113.7");
  EXPECT_EQ(format_ip(*parse_ip("::ffff:192.0.2.1")), "192.0.2.1");
  EXPECT_EQ(format_ip(*parse_ip("2001:0DB8:0000:0000:0000:0000:0000:0001")), "2001:db8::1");
  EXPECT_EQ(format_ip(*parse_ip("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  EXPECT_EQ(format_ip(ip_bytes{}), "::");
  EXPECT_EQ(format_ip(*parse_ip("::1")), "::1");
  // Round trips: text in its normal form comes back the same.
  for (const char* text : {"10.0.0.1", "0.0.0.0", "255.255.255.255", "2001:db8::", "fe80::1",
                           "2001:db8:1:2:3:4:5:6"}) {
    EXPECT_EQ(format_ip(*parse_ip(text)), text);
  }
}

TEST(ParseCidr, Ipv4Prefixes) {
  const auto net = parse_cidr("10.0.0.0/8");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->v4);
  EXPECT_EQ(net->prefix, 96U + 8U);
  EXPECT_EQ(net->network, v4_mapped(10, 0, 0, 0));
  EXPECT_EQ(net->to_string(), "10.0.0.0/8");

  EXPECT_EQ(parse_cidr("0.0.0.0/0")->prefix, 96U);
  EXPECT_EQ(parse_cidr("192.168.1.128/25")->to_string(), "192.168.1.128/25");
  EXPECT_EQ(parse_cidr("192.0.2.1/32")->prefix, 128U);
}

TEST(ParseCidr, Ipv6Prefixes) {
  const auto net = parse_cidr("2001:db8::/32");
  ASSERT_TRUE(net);
  EXPECT_FALSE(net->v4);
  EXPECT_EQ(net->prefix, 32U);
  EXPECT_EQ(net->to_string(), "2001:db8::/32");
  EXPECT_EQ(parse_cidr("::/0")->prefix, 0U);
  EXPECT_EQ(parse_cidr("2001:DB8:0::/48")->to_string(), "2001:db8::/48");
  EXPECT_EQ(parse_cidr("2001:db8::1/128")->prefix, 128U);
}

TEST(ParseCidr, ABareAddressIsAHostNetwork) {
  const auto v4 = parse_cidr("192.0.2.7");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->v4);
  EXPECT_EQ(v4->prefix, 128U);
  EXPECT_EQ(v4->to_string(), "192.0.2.7/32");
  const auto v6 = parse_cidr("2001:db8::7");
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->v4);
  EXPECT_EQ(v6->prefix, 128U);
  EXPECT_EQ(v6->to_string(), "2001:db8::7/128");
}

TEST(ParseCidr, HostBitsPastThePrefixAreRefused) {
  for (const char* bad :
       {"10.0.0.1/8", "10.0.0.0/6", "192.168.1.128/24", "192.168.1.1/31", "2001:db8::1/32",
        "2001:db8:8000::/32", "::1/127", "0.0.0.1/0", "::1/0"}) {
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  }
  // The same networks, written right.
  for (const char* good : {"10.0.0.0/7", "192.168.1.0/24", "192.168.1.0/31", "2001:db8::/32",
                           "2001:db8:8000::/33", "::/127"}) {
    EXPECT_TRUE(parse_cidr(good)) << good;
  }
}

TEST(ParseCidr, PrefixesWithLeadingZerosOrSignsAreRefused) {
  for (const char* bad : {"10.0.0.0/08", "10.0.0.0/008", "10.0.0.0/00", "::/00", "::/064",
                          "10.0.0.0/+8", "10.0.0.0/-8", "10.0.0.0/ 8", "10.0.0.0/8 ", "10.0.0.0 /8",
                          "10.0.0.0/0x8", "10.0.0.0/8.0"}) {
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  }
  EXPECT_TRUE(parse_cidr("10.0.0.0/8"));
  EXPECT_TRUE(parse_cidr("0.0.0.0/0"));
}

TEST(ParseCidr, PrefixesOutOfRangeAndMalformedAreRefused) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/128", "::/129", "::/4294967296",
                          "10.0.0.0/4294967424", "10.0.0.0/", "/8", "/", "", "10.0.0.0/8/8",
                          "10.0.0.0//8", "10.0.0/8", "[::]/0", "fe80::%eth0/64", "garbage/8"}) {
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  }
  EXPECT_FALSE(parse_cidr(std::string_view("10.0.0.0\0x/8", 12)));
}

TEST(ParseCidr, WidthFollowsHowTheAddressIsWritten) {
  // Dotted IPv4: 32 bits of prefix at most; IPv6 (a mapped address too): 128.
  EXPECT_TRUE(parse_cidr("10.0.0.0/32"));
  EXPECT_FALSE(parse_cidr("10.0.0.0/33"));
  EXPECT_FALSE(parse_cidr("10.0.0.0/104"));
  const auto mapped = parse_cidr("::ffff:10.0.0.0/104");
  ASSERT_TRUE(mapped);
  EXPECT_FALSE(mapped->v4);
  EXPECT_EQ(mapped->prefix, 104U);
  EXPECT_TRUE(mapped->contains("10.1.2.3"));
  EXPECT_FALSE(mapped->contains("11.0.0.0"));
}

TEST(ParseCidr, ToStringParsesBackToTheSameNetwork) {
  for (const char* text :
       {"10.0.0.0/8", "192.0.2.7", "0.0.0.0/0", "::/0", "2001:db8::/32", "2001:db8::1",
        "::ffff:10.0.0.0/104", "::ffff:0:0/96", "::ffff:192.0.2.1/128"}) {
    const auto net = parse_cidr(text);
    ASSERT_TRUE(net) << text;
    const auto again = parse_cidr(net->to_string());
    ASSERT_TRUE(again) << text << " -> " << net->to_string();
    EXPECT_EQ(*again, *net) << text << " -> " << net->to_string();
  }
}

TEST(CidrContains, Ipv4InIpv4Network) {
  const auto net = *parse_cidr("10.0.0.0/8");
  EXPECT_TRUE(net.contains("10.0.0.0"));
  EXPECT_TRUE(net.contains("10.255.255.255"));
  EXPECT_TRUE(net.contains("::ffff:10.1.2.3"));  // the same address, written as IPv6
  EXPECT_FALSE(net.contains("11.0.0.0"));
  EXPECT_FALSE(net.contains("9.255.255.255"));
  EXPECT_TRUE(net.contains(v4_mapped(10, 9, 8, 7)));
  EXPECT_FALSE(net.contains(v4_mapped(138, 0, 0, 0)));  // first bit differs

  const auto odd = *parse_cidr("192.168.1.128/25");
  EXPECT_TRUE(odd.contains("192.168.1.128"));
  EXPECT_TRUE(odd.contains("192.168.1.255"));
  EXPECT_FALSE(odd.contains("192.168.1.127"));
  EXPECT_FALSE(odd.contains("192.168.0.200"));

  const auto host = *parse_cidr("192.0.2.1/32");
  EXPECT_TRUE(host.contains("192.0.2.1"));
  EXPECT_FALSE(host.contains("192.0.2.0"));
  EXPECT_FALSE(host.contains("192.0.2.2"));
}

TEST(CidrContains, Ipv4NetworkHoldsNoIpv6AddressAndBackAgain) {
  const auto v4 = *parse_cidr("10.0.0.0/8");
  EXPECT_FALSE(v4.contains("2001:db8::1"));
  EXPECT_FALSE(v4.contains("::a00:1"));  // 10.0.0.1's bits, but not mapped
  EXPECT_FALSE(v4.contains("::1"));
  const auto v6 = *parse_cidr("2001:db8::/32");
  EXPECT_TRUE(v6.contains("2001:db8:1234::5"));
  EXPECT_FALSE(v6.contains("2001:db9::"));
  EXPECT_FALSE(v6.contains("10.0.0.1"));
  EXPECT_FALSE(v6.contains("32.1.13.184"));  // 2001:0db8's bytes as IPv4
}

TEST(CidrContains, ZeroPrefixes) {
  // An IPv4 /0 is every IPv4 address and no IPv6 one.
  const auto any_v4 = *parse_cidr("0.0.0.0/0");
  EXPECT_TRUE(any_v4.contains("0.0.0.0"));
  EXPECT_TRUE(any_v4.contains("203.0.113.7"));
  EXPECT_TRUE(any_v4.contains("255.255.255.255"));
  EXPECT_FALSE(any_v4.contains("::1"));
  EXPECT_FALSE(any_v4.contains("2001:db8::1"));
  // An IPv6 /0 is every IPv6 address, but no IPv4 one: an IPv6 network holds IPv4 clients (which
  // arrive mapped) only when it is written in the mapped range, so "::/64" cannot trust them all.
  const auto any = *parse_cidr("::/0");
  EXPECT_TRUE(any.contains("::"));
  EXPECT_TRUE(any.contains("2001:db8::1"));
  EXPECT_TRUE(any.contains("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(any.contains("203.0.113.7"));
  EXPECT_FALSE(parse_cidr("::/64")->contains("10.0.0.1"));
  const auto mapped = *parse_cidr("::ffff:0:0/96");
  EXPECT_TRUE(mapped.contains("203.0.113.7"));
  EXPECT_TRUE(parse_cidr("::ffff:10.0.0.0/104")->contains("10.1.2.3"));
  EXPECT_FALSE(parse_cidr("::ffff:10.0.0.0/104")->contains("11.1.2.3"));
}

TEST(CidrContains, Ipv6Prefixes) {
  const auto host = *parse_cidr("2001:db8::1/128");
  EXPECT_TRUE(host.contains("2001:db8::1"));
  EXPECT_TRUE(host.contains("2001:DB8:0:0:0:0:0:1"));
  EXPECT_FALSE(host.contains("2001:db8::"));
  EXPECT_FALSE(host.contains("2001:db8::2"));
  EXPECT_FALSE(host.contains("2001:db8::1:1"));

  const auto odd = *parse_cidr("2001:db8::/33");
  EXPECT_TRUE(odd.contains("2001:db8:7fff:ffff::"));
  EXPECT_FALSE(odd.contains("2001:db8:8000::"));

  const auto loopback = *parse_cidr("::1");
  EXPECT_TRUE(loopback.contains("::1"));
  EXPECT_FALSE(loopback.contains("127.0.0.1"));
}

TEST(CidrContains, TextThatIsNoAddressIsNotContained) {
  const auto any = *parse_cidr("::/0");
  for (const char* bad : {"", "garbage", "10.0.0.1:80", "[::1]", "::1%lo", "10.0.0.0/8"}) {
    EXPECT_FALSE(any.contains(std::string_view(bad))) << bad;
  }
}

}  // namespace
}  // namespace hush
