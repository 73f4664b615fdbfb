// A client's own mistake is answered with the stable error code and a message that names the
// field and what is expected; every other error keeps its generic message.
#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "http/response.hpp"
#include "http/router.hpp"
#include "support/http_helpers.hpp"
#include "support/test_club.hpp"

namespace hush::http {
namespace {

using testing::basic;

class ErrorMessagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg.max_body_bytes = 2048;
    cfg.max_message_bytes = 100;
    cfg.max_page_size = 3;
    club.add("poster", store::role::poster, "poster password");
    club.add("admin", store::role::admin, "admin password");
  }

  response send(verb method, std::string target, std::string credentials, std::string body = "",
                std::string content_type = "application/json") {
    request req{method, target, 11};
    req.set(field::authorization, basic(credentials));
    if (!body.empty()) {
      req.set(field::content_type, content_type);
      req.body() = std::move(body);
    }
    req.prepare_payload();
    return router_.handle(req, request_context{"198.51.100.4"});
  }

  // {"error", "message"} of an error response, and nothing else in it.
  static std::pair<std::string, std::string> error_of(const response& res) {
    const auto body = boost::json::parse(res.body()).as_object();
    EXPECT_EQ(body.size(), 2U) << res.body();
    return {std::string(body.at("error").as_string()), std::string(body.at("message").as_string())};
  }

  response post_message(std::string body, std::string type = "application/json") {
    return send(verb::post, "/api/v1/messages", "poster:poster password", std::move(body),
                std::move(type));
  }
  response add_member(std::string body) {
    return send(verb::post, "/api/v1/members", "admin:admin password", std::move(body));
  }

  config::config cfg;
  testing::test_club club{100};
  router router_{services{club.domain, club.auth, cfg}};
};

TEST_F(ErrorMessagesTest, APostedBodyNamesTheFieldAndTheLimit) {
  const std::string rule =
      "\"body\" must be a string of at most 100 bytes of UTF-8, not empty "
      "(limits.max_message_bytes)";
  for (const char* bad : {R"({"body":42})", R"({})", R"({"body":""})", R"({"body":null})"}) {
    const auto res = post_message(bad);
    EXPECT_EQ(res.result(), status::bad_request) << bad;
    EXPECT_EQ(error_of(res), std::make_pair(std::string("bad_request"), rule)) << bad;
  }
  const auto too_long = post_message(R"({"body":")" + std::string(101, 'x') + "\"}");
  EXPECT_EQ(too_long.result(), status::payload_too_large);
  EXPECT_EQ(error_of(too_long), std::make_pair(std::string("payload_too_large"), rule));
}

TEST_F(ErrorMessagesTest, AnUnknownKeyIsNamedWithTheKeysAllowed) {
  auto [code, message] = error_of(post_message(R"({"body":"x","extra":1})"));
  EXPECT_EQ(code, "bad_request");
  EXPECT_EQ(message,
            "unknown key \"extra\"; the object takes only \"body\", \"format\", \"expires_in\", "
            "\"max_reads\", \"to\"");
  // A long or unprintable key is not echoed back.
  std::tie(code, message) =
      error_of(post_message(R"({"body":"x",")" + std::string(200, 'k') + "\":1}"));
  EXPECT_EQ(message,
            "an unknown key; the object takes only \"body\", \"format\", \"expires_in\", "
            "\"max_reads\", \"to\"");
  std::tie(code, message) = error_of(add_member(R"({"name":"x","role":"reader","\u0007":1})"));
  EXPECT_EQ(message, "an unknown key; the object takes only \"name\", \"role\"");
}

TEST_F(ErrorMessagesTest, TheBodyAsAWholeSaysWhatItMustBe) {
  EXPECT_EQ(error_of(post_message("{not json")).second,
            "the body must be one JSON object, with each key at most once");
  EXPECT_EQ(error_of(post_message(R"({"body":"a","body":"b"})")).second,
            "the body must be one JSON object, with each key at most once");
  const auto wrong_type = post_message(R"({"body":"x"})", "text/plain");
  EXPECT_EQ(wrong_type.result(), status::unsupported_media_type);
  EXPECT_EQ(error_of(wrong_type).second,
            "the body must be JSON, sent with Content-Type: application/json");
  const auto huge = post_message(std::string(3000, ' '));
  EXPECT_EQ(huge.result(), status::payload_too_large);
  EXPECT_EQ(error_of(huge).second, "the body must be at most 2048 bytes (limits.max_body_bytes)");
}

TEST_F(ErrorMessagesTest, ANewMemberNamesTheFieldAtFault) {
  EXPECT_EQ(error_of(add_member(R"({"name":"bad name","role":"reader"})")),
            std::make_pair(std::string("bad_request"),
                           std::string("\"name\" must be a string of 1 to 64 of the characters "
                                       "A-Z a-z 0-9 . _ -")));
  EXPECT_EQ(error_of(add_member(R"({"name":"carol","role":"boss"})")).second,
            "\"role\" must be \"reader\", \"poster\" or \"admin\"");
  EXPECT_EQ(error_of(add_member(R"({"name":"carol"})")).second,
            "\"role\" must be \"reader\", \"poster\" or \"admin\"");
  EXPECT_EQ(club.store.find_member("carol").error(), errc::not_found);
}

TEST_F(ErrorMessagesTest, ListParametersSayTheirRange) {
  EXPECT_EQ(error_of(send(verb::get, "/api/v1/messages?limit=4", "poster:poster password")),
            std::make_pair(std::string("bad_request"),
                           std::string("\"limit\" must be a whole number from 1 to 3 "
                                       "(api.max_page_size)")));
  EXPECT_NE(error_of(send(verb::get, "/api/v1/messages?before=x", "poster:poster password"))
                .second.find("\"before\" must be a message id"),
            std::string::npos);
  EXPECT_NE(error_of(send(verb::get, "/?format=text", "poster:poster password"))
                .second.find("\"format\" must be fernet"),
            std::string::npos);
}

TEST_F(ErrorMessagesTest, OtherErrorsKeepTheirGenericMessage) {
  const auto refused = send(verb::get, "/api/v1/messages/99", "poster:poster password");
  EXPECT_EQ(error_of(refused),
            std::make_pair(std::string("not_found"), std::string("Nothing is here.")));
  const auto stranger = send(verb::get, "/", "mallory:wrong password");
  EXPECT_EQ(error_of(stranger).second, "Authentication is required.");
}

}  // namespace
}  // namespace hush::http
