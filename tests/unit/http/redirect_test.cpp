#include "http/redirect.hpp"

#include <gtest/gtest.h>

namespace hush::http {
namespace {

request make(verb method, std::string target, std::string host = "club.example.org") {
  request req{method, target, 11};
  if (!host.empty()) {
    req.set(field::host, host);
  }
  return req;
}

TEST(PlainHttp, RedirectsToTheSameHostAndPathOverHttps) {
  const challenge_tokens none;
  auto res = answer_plain_http(make(verb::get, "/"), none, 443);
  EXPECT_EQ(res.result(), status::moved_permanently);
  EXPECT_EQ(res[field::location], "https://club.example.org/");
  EXPECT_FALSE(res.keep_alive());

  res = answer_plain_http(make(verb::get, "/api/v1/messages?limit=5", "Club.Example.ORG:80"), none,
                          8443);
  EXPECT_EQ(res[field::location], "https://club.example.org:8443/api/v1/messages?limit=5");

  res = answer_plain_http(make(verb::post, "/api/v1/session", "[2001:DB8::1]:80"), none, 443);
  EXPECT_EQ(res.result(), status::moved_permanently);
  EXPECT_EQ(res[field::location], "https://[2001:db8::1]/api/v1/session");

  res = answer_plain_http(make(verb::head, "/x", "192.0.2.7"), none, 443);
  EXPECT_EQ(res[field::location], "https://192.0.2.7/x");

  // Raw UTF-8 (and any byte outside printable ASCII) leaves percent-encoded; what was already
  // encoded stays as it was.
  res = answer_plain_http(make(verb::get, "/caf\xc3\xa9?q=a%20b\x7f"), none, 443);
  EXPECT_EQ(res[field::location], "https://club.example.org/caf%C3%A9?q=a%20b%7F");
}

TEST(PlainHttp, NeverServesASecretOrARoute) {
  const challenge_tokens none;
  for (const char* target : {"/", "/healthz", "/ca.crl", "/api/v1/messages", "/metrics"}) {
    auto req = make(verb::get, target);
    req.set(field::authorization, "Basic YWxpY2U6c2VjcmV0");
    const auto res = answer_plain_http(req, none, 443);
    EXPECT_EQ(res.result(), status::moved_permanently) << target;
    EXPECT_EQ(res.body(), "moved to https\n") << target;
    EXPECT_EQ(res.count(field::www_authenticate), 0U) << target;
    EXPECT_EQ(res.count(field::set_cookie), 0U) << target;
  }
}

TEST(PlainHttp, AnswersAKnownAcmeToken) {
  challenge_tokens tokens;
  tokens.set("tok-EN_123", "tok-EN_123.thumbprint");
  auto res =
      answer_plain_http(make(verb::get, "/.well-known/acme-challenge/tok-EN_123"), tokens, 443);
  EXPECT_EQ(res.result(), status::ok);
  EXPECT_EQ(res.body(), "tok-EN_123.thumbprint");
  EXPECT_FALSE(res.keep_alive());
  // Any Host: the CA's validation server names the host it validates, but the token is the key.
  res =
      answer_plain_http(make(verb::get, "/.well-known/acme-challenge/tok-EN_123", ""), tokens, 443);
  EXPECT_EQ(res.result(), status::ok);

  for (const char* target :
       {"/.well-known/acme-challenge/other", "/.well-known/acme-challenge/",
        "/.well-known/acme-challenge/tok-EN_123/x", "/.well-known/acme-challenge/tok-EN_123?x",
        "/.well-known/acme-challenge/../../etc/passwd"}) {
    EXPECT_EQ(answer_plain_http(make(verb::get, target), tokens, 443).result(), status::not_found)
        << target;
  }
  EXPECT_EQ(
      answer_plain_http(make(verb::post, "/.well-known/acme-challenge/tok-EN_123"), tokens, 443)
          .result(),
      status::not_found);
  tokens.erase("tok-EN_123");
  EXPECT_EQ(
      answer_plain_http(make(verb::get, "/.well-known/acme-challenge/tok-EN_123"), tokens, 443)
          .result(),
      status::not_found);
}

TEST(PlainHttp, WithoutAUsableHostThereIsNowhereToSendIt) {
  const challenge_tokens none;
  for (const char* host :
       {"", "evil.example/x", "a b", "club..example", ".club", "club:8o", "club:123456", "[::1",
        "[::1]x", "[zz::1]", "user@club.example", "club.example:80:80"}) {
    EXPECT_EQ(answer_plain_http(make(verb::get, "/", host), none, 443).result(),
              status::bad_request)
        << host;
  }
  EXPECT_EQ(answer_plain_http(make(verb::options, "*"), none, 443).result(), status::bad_request);
  auto twice = make(verb::get, "/");
  twice.insert(field::host, "evil.example");
  EXPECT_EQ(answer_plain_http(twice, none, 443).result(), status::bad_request);
  EXPECT_EQ(answer_plain_http(make(verb::get, "http://other.example/"), none, 443).result(),
            status::bad_request);
}

TEST(PlainHttp, HostOf) {
  EXPECT_EQ(host_of("Club.Example.org."), "club.example.org.");
  EXPECT_EQ(host_of("localhost:5684"), "localhost");
  EXPECT_EQ(host_of("[::1]:80"), "[::1]");
  EXPECT_EQ(host_of("[::ffff:192.0.2.1]"), "[::ffff:192.0.2.1]");
  EXPECT_FALSE(host_of(std::string(64, 'a') + ".example"));
  EXPECT_TRUE(host_of(std::string(63, 'a') + ".example"));
}

}  // namespace
}  // namespace hush::http
