#include "http/admission.hpp"

#include <gtest/gtest.h>

namespace hush::http {
namespace {

// A head as Beast's parser leaves it: fields in arrival order, repeats kept.
request_header head(std::initializer_list<std::pair<std::string_view, std::string_view>> fields,
                    unsigned version = 11) {
  request_header h;
  h.method(verb::post);
  h.target("/api/v1/messages");
  h.version(version);
  for (const auto& [name, value] : fields) {
    h.insert(name, value);
  }
  return h;
}

TEST(HeadRefusal, AnOrdinaryHeadIsAdmitted) {
  EXPECT_EQ(
      head_refusal(head(
          {{"Host", "club.example"}, {"Authorization", "Basic YTpi"}, {"Content-Length", "12"}})),
      std::nullopt);
  EXPECT_EQ(head_refusal(head({{"Host", "club.example"}, {"Transfer-Encoding", "chunked"}})),
            std::nullopt);
  EXPECT_EQ(head_refusal(head({{"host", "club.example"}, {"transfer-encoding", "CHUNKED"}})),
            std::nullopt);
  // RFC 9112 allows an empty Host; HTTP/1.0 needs none.
  EXPECT_EQ(head_refusal(head({{"Host", ""}})), std::nullopt);
  EXPECT_EQ(head_refusal(head({}, 10)), std::nullopt);
}

TEST(HeadRefusal, TransferEncodingOtherThanOneChunked) {
  for (const auto coding :
       {"identity", "gzip", "chunked, identity", "gzip, chunked", "xchunked", ""}) {
    EXPECT_EQ(head_refusal(head({{"Host", "h"}, {"Transfer-Encoding", coding}})),
              api_error::bad_request)
        << coding;
  }
  EXPECT_EQ(
      head_refusal(head(
          {{"Host", "h"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})),
      api_error::bad_request);
}

TEST(HeadRefusal, ContentLengthTwiceEvenEqual) {
  EXPECT_EQ(head_refusal(head({{"Host", "h"}, {"Content-Length", "5"}, {"Content-Length", "5"}})),
            api_error::bad_request);
  EXPECT_EQ(head_refusal(head({{"Host", "h"}, {"Content-Length", "5"}, {"content-length", "7"}})),
            api_error::bad_request);
  for (const auto value : {"5, 5", "5,5", "+5", "0x5", "5 5", ""}) {
    EXPECT_EQ(head_refusal(head({{"Host", "h"}, {"Content-Length", value}})),
              api_error::bad_request)
        << value;
  }
}

TEST(HeadRefusal, HostMissingOnHttp11OrTwice) {
  EXPECT_EQ(head_refusal(head({})), api_error::bad_request);
  EXPECT_EQ(head_refusal(head({{"Host", "club.example"}, {"Host", "evil.example"}})),
            api_error::bad_request);
  EXPECT_EQ(head_refusal(head({{"Host", "club.example"}, {"host", "club.example"}})),
            api_error::bad_request);
  EXPECT_EQ(head_refusal(head({{"Host", "a"}, {"Host", "b"}}, 10)), api_error::bad_request);
}

TEST(HeadRefusal, AuthorizationTwice) {
  EXPECT_EQ(head_refusal(head(
                {{"Host", "h"}, {"Authorization", "Basic YTpi"}, {"Authorization", "Bearer x"}})),
            api_error::bad_request);
  EXPECT_EQ(head_refusal(head(
                {{"Host", "h"}, {"Authorization", "Basic YTpi"}, {"authorization", "Basic YTpi"}})),
            api_error::bad_request);
}

}  // namespace
}  // namespace hush::http
