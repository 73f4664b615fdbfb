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

const challenge_responder nobody{[](const std::string&, const std::string&) {},
                                 [](const std::string&) {}};

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
      [&](const std::string& token, const std::string& answer) {
        published.push_back(token + " " + answer);
      },
      [&](const std::string& token) { withdrawn.push_back(token); }};
  client acme(ca, key, "https://ca/directory", [](auto) { return false; });
  EXPECT_THROW(acme.obtain({{"club.example.org"}, "admin@club.example", "http-01"}, responder),
               acme_error);
  ASSERT_EQ(published.size(), 1U);
  EXPECT_EQ(published[0], "tok tok." + key.thumbprint());
  EXPECT_EQ(withdrawn, std::vector<std::string>{"tok"});
  // After the account exists, requests are signed by its URL (kid), not the key (jwk).
  EXPECT_NE(ca.requests[2].body.find("eyJhbGciOiJFUzI1NiIsImp3ayI6"), std::string::npos);
  EXPECT_EQ(ca.requests[3].body.find("eyJhbGciOiJFUzI1NiIsImp3ayI6"), std::string::npos);
}

}  // namespace
}  // namespace hush::acme
