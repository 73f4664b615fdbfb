#include "acme/url.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

// One parser for the origin check and the connection: what it accepts, it splits the way the
// origin check compares; what could be read two ways, it refuses.

namespace hush::acme {
namespace {

TEST(AcmeUrl, SplitsHostPortAndTarget) {
  auto u = parse_https_url("https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(u.host, "acme-v02.api.letsencrypt.org");
  EXPECT_EQ(u.port, "443");
  EXPECT_EQ(u.target, "/directory");
  u = parse_https_url("HTTPS://CA.Example:14000/dir?x=1#frag");
  EXPECT_EQ(u.host, "ca.example");
  EXPECT_EQ(u.port, "14000");
  EXPECT_EQ(u.target, "/dir?x=1");
  u = parse_https_url("https://[::1]:8443");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "8443");
  EXPECT_EQ(u.target, "/");
  // The authority ends where the query starts: the host checked is the host connected to.
  u = parse_https_url("https://ca.example?.evil.test:22/x");
  EXPECT_EQ(u.origin(), "ca.example:443");
  EXPECT_EQ(u.target, "/?.evil.test:22/x");
}

TEST(AcmeUrl, OneOriginHasOneSpelling) {
  EXPECT_EQ(parse_https_url("https://ca.example:443/a").origin(),
            parse_https_url("https://CA.example/b").origin());
  EXPECT_EQ(parse_https_url("https://ca.example:0443/").origin(), "ca.example:443");
  EXPECT_NE(parse_https_url("https://ca.example:8443/").origin(),
            parse_https_url("https://ca.example/").origin());
}

TEST(AcmeUrl, RefusesWhatCouldBeReadTwoWays) {
  for (const char* bad :
       {"http://ca.example/", "https://", "https:///dir", "https://user@ca/",
        "https://ca.example:/", "https://ca.example:99999/", "https://ca.example:0/",
        "https://ca.example:-1/", "https://ca\\evil.example/", "https://ca.example%2f.evil/",
        "https://[::1/", "https://[::1]x/", "https://[::1]:/", "https://[ca.example]/",
        "https://ca example/", "ftp://ca.example/"}) {
    EXPECT_THROW(parse_https_url(bad), std::runtime_error) << bad;
  }
}

}  // namespace
}  // namespace hush::acme
