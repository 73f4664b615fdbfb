#include "acme/client.hpp"

#include <deque>

#include <gtest/gtest.h>

namespace hush::acme {
namespace {

// A scripted CA: each request is answered by the next reply, and recorded.
class scripted_transport : public transport {
 public:
  struct request {
    std::string method;
    std::string url;
    std::string body;
  };

  void then(unsigned status, std::string body, std::string nonce = "n", std::string location = "") {
    replies_.push_back(
        {status, std::move(body), "application/json", std::move(location), std::move(nonce), ""});
  }

  http_response exchange(std::string_view method, const std::string& url, const std::string& body,
                         std::string_view) override {
    requests.push_back({std::string(method), url, body});
    if (replies_.empty()) {
      throw std::runtime_error("no more replies");
    }
    auto reply = replies_.front();
    replies_.pop_front();
    return reply;
  }

  std::vector<request> requests;

 private:
  std::deque<http_response> replies_;
};

constexpr const char* directory =
    R"({"newNonce":"https://ca/nonce","newAccount":"https://ca/account","newOrder":"https://ca/order"})";

const challenge_responder nobody{[](const challenge_answer&) {}, [](const challenge_answer&) {}};

TEST(AcmeClient, ABadNonceIsRetriedWithTheNonceItBrought) {
  scripted_transport ca;
  const auto key = account_key::generate();
  ca.then(200, directory);
  ca.then(200, "", "first");  // HEAD newNonce
  ca.then(400, R"({"type":"urn:ietf:params:acme:error:badNonce","detail":"stale"})", "second");
  ca.then(403, R"({"type":"urn:ietf:params:acme:error:unauthorized","detail":"no account"})");
  client acme(ca, key, "https://ca/directory", [](auto) { return true; });
  try {
    acme.obtain({{"club.example.org"}, "", "http-01"}, nobody);
    FAIL() << "no error";
  } catch (const acme_error& e) {
    // The CA's type and detail, with the step, reach the log.
    EXPECT_STREQ(e.what(),
                 "creating the account: the CA answered HTTP 403 "
                 "urn:ietf:params:acme:error:unauthorized: no account");
  }
  ASSERT_EQ(ca.requests.size(), 4U);
  EXPECT_EQ(ca.requests[2].url, "https://ca/account");
  EXPECT_EQ(ca.requests[3].url, "https://ca/account");
  // The retry carries the nonce the badNonce answer brought, not the spent one.
  EXPECT_NE(ca.requests[2].body, ca.requests[3].body);
}

TEST(AcmeClient, ADirectoryThatIsNotOneIsRefused) {
  scripted_transport ca;
  const auto key = account_key::generate();
  ca.then(200, R"({"hello":"world"})");
  client acme(ca, key, "https://ca/directory", [](auto) { return true; });
  EXPECT_THROW(acme.obtain({{"club.example.org"}, "", "http-01"}, nobody), acme_error);
  ca.then(503, "down");
  EXPECT_THROW(acme.obtain({{"club.example.org"}, "", "http-01"}, nobody), acme_error);
}

TEST(AcmeClient, AStopDuringAPollGivesUpAndWithdrawsTheAnswer) {
  scripted_transport ca;
  const auto key = account_key::generate();
  ca.then(200, directory);
  ca.then(200, "", "n1");
  ca.then(201, "{}", "n2", "https://ca/acct/1");
  ca.then(
      201,
      R"({"status":"pending","authorizations":["https://ca/authz/1"],"finalize":"https://ca/fin"})",
      "n3", "https://ca/order/1");
  ca.then(200,
          R"({"status":"pending","identifier":{"type":"dns","value":"club.example.org"},
              "challenges":[{"type":"http-01","url":"https://ca/chall/1","token":"tok"}]})",
          "n4");
  ca.then(200, R"({"status":"processing"})", "n5");  // the challenge accepted
  ca.then(200, R"({"status":"pending"})", "n6");     // the first poll
  std::vector<std::string> published;
  std::vector<std::string> withdrawn;
  const challenge_responder responder{
      [&](const challenge_answer& answer) {
        published.push_back(answer.host + " " + answer.token + " " + answer.key_authorization);
      },
      [&](const challenge_answer& answer) { withdrawn.push_back(answer.token); }};
  client acme(ca, key, "https://ca/directory", [](auto) { return false; });
  EXPECT_THROW(acme.obtain({{"club.example.org"}, "admin@club.example", "http-01"}, responder),
               acme_error);
  ASSERT_EQ(published.size(), 1U);
  EXPECT_EQ(published[0], "club.example.org tok tok." + key.thumbprint());
  EXPECT_EQ(withdrawn, std::vector<std::string>{"tok"});
  // After the account exists, requests are signed by its URL (kid), not the key (jwk).
  EXPECT_NE(ca.requests[2].body.find("eyJhbGciOiJFUzI1NiIsImp3ayI6"), std::string::npos);
  EXPECT_EQ(ca.requests[3].body.find("eyJhbGciOiJFUzI1NiIsImp3ayI6"), std::string::npos);
}

}  // namespace
}  // namespace hush::acme

namespace hush::acme {
namespace {

TEST(AcmeClient, EveryUrlStaysOnTheDirectorysOrigin) {
  const auto key = account_key::generate();
  {
    scripted_transport ca;
    ca.then(200, R"({"newNonce":"https://ca/nonce","newAccount":"https://ca/account",
                     "newOrder":"https://intranet.example:8080/order"})");
    client acme(ca, key, "https://ca/directory", [](auto) { return true; });
    try {
      acme.obtain({{"club.example.org"}, "", "http-01"}, nobody);
      FAIL() << "no error";
    } catch (const acme_error& e) {
      EXPECT_NE(std::string(e.what()).find("intranet.example:8080, away from the "
                                           "directory's ca:443"),
                std::string::npos)
          << e.what();
    }
    EXPECT_EQ(ca.requests.size(), 1U) << "nothing sent anywhere after the directory";
  }
  {
    // An authorization elsewhere: refused before any request goes there.
    scripted_transport ca;
    ca.then(200, directory);
    ca.then(200, "", "n1");
    ca.then(201, "{}", "n2", "https://ca/acct/1");
    ca.then(201,
            R"({"status":"pending","authorizations":["http://ca/authz/1"],
                "finalize":"https://ca/fin"})",
            "n3", "https://ca/order/1");
    client acme(ca, key, "https://CA/directory", [](auto) { return true; });
    EXPECT_THROW(acme.obtain({{"club.example.org"}, "", "http-01"}, nobody), acme_error);
    for (const auto& request : ca.requests) {
      EXPECT_NE(request.url, "http://ca/authz/1");
    }
  }
}

TEST(AcmeClient, OnlyTheOrderedNamesAreAnswered) {
  const auto key = account_key::generate();
  std::vector<std::string> published;
  const challenge_responder responder{
      [&](const challenge_answer& answer) { published.push_back(answer.host); },
      [](const challenge_answer&) {}};
  {
    scripted_transport ca;
    ca.then(200, directory);
    ca.then(200, "", "n1");
    ca.then(201, "{}", "n2", "https://ca/acct/1");
    ca.then(201,
            R"({"status":"pending","authorizations":["https://ca/authz/1"],
                "finalize":"https://ca/fin"})",
            "n3", "https://ca/order/1");
    ca.then(200,
            R"({"status":"pending","identifier":{"type":"dns","value":"victim.example"},
                "challenges":[{"type":"tls-alpn-01","url":"https://ca/chall/1","token":"t"}]})",
            "n4");
    client acme(ca, key, "https://ca/directory", [](auto) { return true; });
    EXPECT_THROW(acme.obtain({{"club.example.org"}, "", "tls-alpn-01"}, responder), acme_error);
    EXPECT_TRUE(published.empty()) << published.front();
  }
  {
    scripted_transport ca;
    ca.then(200, directory);
    ca.then(200, "", "n1");
    ca.then(201, "{}", "n2", "https://ca/acct/1");
    ca.then(201,
            R"({"status":"pending","authorizations":["https://ca/authz/1","https://ca/authz/2"],
                "finalize":"https://ca/fin"})",
            "n3", "https://ca/order/1");
    client acme(ca, key, "https://ca/directory", [](auto) { return true; });
    EXPECT_THROW(acme.obtain({{"club.example.org"}, "", "http-01"}, responder), acme_error);
    EXPECT_EQ(ca.requests.size(), 4U) << "no authorization fetched";
  }
  {
    // Two authorizations for one of the two names ordered.
    scripted_transport ca;
    ca.then(200, directory);
    ca.then(200, "", "n1");
    ca.then(201, "{}", "n2", "https://ca/acct/1");
    ca.then(201,
            R"({"status":"pending","authorizations":["https://ca/authz/1","https://ca/authz/2"],
                "finalize":"https://ca/fin"})",
            "n3", "https://ca/order/1");
    ca.then(200, R"({"status":"valid","identifier":{"type":"dns","value":"a.example"}})", "n4");
    ca.then(200, R"({"status":"valid","identifier":{"type":"dns","value":"A.example"}})", "n5");
    client acme(ca, key, "https://ca/directory", [](auto) { return true; });
    try {
      acme.obtain({{"a.example", "b.example"}, "", "http-01"}, responder);
      FAIL() << "no error";
    } catch (const acme_error& e) {
      EXPECT_NE(std::string(e.what()).find("a.example twice"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace hush::acme
