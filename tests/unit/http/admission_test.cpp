#include "http/admission.hpp"

#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
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

// --- scan_head: the raw bytes of a head, before any parser ---

constexpr std::size_t limit = 8192;
constexpr std::string_view get_head = "GET / HTTP/1.1\r\nHost: club.example\r\nAccept: */*\r\n\r\n";

// A GET head of exactly `size` bytes: one field's value pads it.
std::string head_of_size(std::size_t size) {
  const std::string start = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  const std::string end = "\r\n\r\n";
  return start + std::string(size - start.size() - end.size(), 'p') + end;
}

TEST(ScanHead, AWholeHeadIsCompleteUpToItsBlankLine) {
  EXPECT_EQ(scan_head(get_head, limit), head_scan::complete(get_head.size()));
  // What follows the head (a body, a pipelined request) is not part of it.
  const std::string two = std::string(get_head) + "GET /next HTTP/1.1\r\n";
  EXPECT_EQ(scan_head(two, limit), head_scan::complete(get_head.size()));
  EXPECT_EQ(scan_head("", limit), head_scan::incomplete());
}

TEST(ScanHead, AHeadSplitAtEveryByteIsIncompleteUntilItsLastByte) {
  for (std::size_t n = 0; n < get_head.size(); ++n) {
    EXPECT_EQ(scan_head(get_head.substr(0, n), limit), head_scan::incomplete()) << n;
  }
  EXPECT_EQ(scan_head(get_head, limit), head_scan::complete(get_head.size()));
}

TEST(ScanHead, TheLimitCountsTheBlankLine) {
  const auto exact = head_of_size(limit);
  EXPECT_EQ(scan_head(exact, limit), head_scan::complete(limit));
  // Its last byte not yet read: one byte short of the limit waits, at the limit it cannot end in
  // time.
  EXPECT_EQ(scan_head(exact.substr(0, limit - 1), limit), head_scan::incomplete());
  const auto over = head_of_size(limit + 1);
  EXPECT_EQ(scan_head(over.substr(0, limit), limit),
            head_scan::refused(api_error::headers_too_large));
  EXPECT_EQ(scan_head(std::string(limit, 'a'), limit),
            head_scan::refused(api_error::headers_too_large));
  EXPECT_EQ(scan_head(std::string(limit - 1, 'a'), limit), head_scan::incomplete());
}

// One read may bring a whole head that ends past the limit. Beast's parser, with the same
// limit, would take it (it counts the request line apart from the fields), so the scan refuses
// it: whether a head is too large does not depend on how its bytes arrived.
TEST(ScanHead, AWholeHeadPastTheLimitIsRefused) {
  namespace bhttp = boost::beast::http;
  const auto over = head_of_size(limit + 1);
  EXPECT_EQ(scan_head(over, limit), head_scan::refused(api_error::headers_too_large));
  EXPECT_EQ(scan_head(over + "GET / HTTP/1.1\r\n", limit),
            head_scan::refused(api_error::headers_too_large));

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limit));
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(over), ec);
  EXPECT_FALSE(ec) << "Beast's limit now matches the whole head; the scan's check may go";
}

TEST(ScanHead, ObsFoldIsRefusedBeforeTheLimit) {
  auto folded = head_of_size(limit + 10);
  folded.replace(folded.find("X-Pad:"), 0, "X-A: b\r\n c\r\n");
  EXPECT_EQ(scan_head(folded, limit), head_scan::refused(api_error::bad_request));
}

TEST(ScanHead, ObsFoldWithASpaceOrATabIsRefused) {
  for (const std::string_view fold : {"\r\n ", "\r\n\t", "\r\n  \t"}) {
    const auto head =
        "GET / HTTP/1.1\r\nHost: h\r\nX-Long: first" + std::string(fold) + "second\r\n\r\n";
    EXPECT_EQ(scan_head(head, limit), head_scan::refused(api_error::bad_request)) << head;
  }
  // A continuation of the request line, or of the last field just before the blank line.
  EXPECT_EQ(scan_head("GET / HTTP/1.1\r\n Host: h\r\n\r\n", limit),
            head_scan::refused(api_error::bad_request));
  EXPECT_EQ(scan_head("GET / HTTP/1.1\r\nHost: h\r\n\t\r\n\r\n", limit),
            head_scan::refused(api_error::bad_request));
}

TEST(ScanHead, SpacesAndTabsInsideALineAreNotObsFold) {
  const std::string_view head = "GET / HTTP/1.1\r\nHost:\th\r\nX-Words: a b\t c \r\n\r\n";
  EXPECT_EQ(scan_head(head, limit), head_scan::complete(head.size()));
}

TEST(ScanHead, ObsFoldInTheBodyIsNotTheHeadsBusiness) {
  const std::string bytes = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n";
  EXPECT_EQ(scan_head(bytes + "a\r\n b\r\n\tc", limit), head_scan::complete(bytes.size()));
}

TEST(ScanHead, AnObsFoldStillArrivingIsNotRefusedYet) {
  // "\r\n" at the end of what is read may be followed by a space; only a whole head is judged.
  EXPECT_EQ(scan_head("GET / HTTP/1.1\r\nX-A: b\r\n", limit), head_scan::incomplete());
  // Without an end of head, the limit wins over the fold.
  const auto folded = "GET / HTTP/1.1\r\nX-A: b\r\n c" + std::string(limit, 'c');
  EXPECT_EQ(scan_head(folded, limit), head_scan::refused(api_error::headers_too_large));
}

TEST(ScanHead, BareLineFeedsNeverEndAHead) {
  // Beast refuses bare LFs; here they just never make "\r\n\r\n", so the request waits for its
  // deadline or runs into the limit.
  EXPECT_EQ(scan_head("GET / HTTP/1.1\nHost: h\n\n", limit), head_scan::incomplete());
  EXPECT_EQ(scan_head("GET / HTTP/1.1\r\nHost: h\r\n\n", limit), head_scan::incomplete());
  EXPECT_EQ(scan_head("GET / HTTP/1.1\r\nHost: h\n\r\n", limit), head_scan::incomplete());
  EXPECT_EQ(scan_head(std::string(limit, '\n'), limit),
            head_scan::refused(api_error::headers_too_large));
}

// --- read_error_answer: what a failed read of a request leads to ---

read_failure answer(api_error error) {
  return {read_failure::action::answer, error};
}
const read_failure closes{read_failure::action::close};
const read_failure drops{read_failure::action::drop};

TEST(ReadErrorAnswer, LimitsAreTheirStatuses) {
  namespace bhttp = boost::beast::http;
  EXPECT_EQ(read_error_answer(bhttp::error::header_limit, 100),
            answer(api_error::headers_too_large));
  EXPECT_EQ(read_error_answer(bhttp::error::body_limit, 100), answer(api_error::payload_too_large));
}

TEST(ReadErrorAnswer, EveryOtherParseErrorIsABadRequest) {
  namespace bhttp = boost::beast::http;
  for (const auto e : {bhttp::error::partial_message,
                       bhttp::error::need_more,
                       bhttp::error::unexpected_body,
                       bhttp::error::need_buffer,
                       bhttp::error::end_of_chunk,
                       bhttp::error::buffer_overflow,
                       bhttp::error::bad_alloc,
                       bhttp::error::bad_line_ending,
                       bhttp::error::bad_method,
                       bhttp::error::bad_target,
                       bhttp::error::bad_version,
                       bhttp::error::bad_status,
                       bhttp::error::bad_reason,
                       bhttp::error::bad_field,
                       bhttp::error::bad_value,
                       bhttp::error::bad_content_length,
                       bhttp::error::bad_transfer_encoding,
                       bhttp::error::bad_chunk,
                       bhttp::error::bad_chunk_extension,
                       bhttp::error::bad_obs_fold,
                       bhttp::error::multiple_content_length,
                       bhttp::error::stale_parser,
                       bhttp::error::short_read}) {
    EXPECT_EQ(read_error_answer(e, 10), answer(api_error::bad_request))
        << bhttp::make_error_code(e).message();
  }
}

TEST(ReadErrorAnswer, AnEndOfStreamBetweenRequestsClosesPolitely) {
  EXPECT_EQ(read_error_answer(boost::beast::http::error::end_of_stream, 0), closes);
  // The raw read of a head sees the stream's own end: polite when nothing of a request came.
  EXPECT_EQ(read_error_answer(boost::asio::error::eof, 0), closes);
  EXPECT_EQ(read_error_answer(boost::asio::error::eof, 1), drops);
}

TEST(ReadErrorAnswer, APeerThatIsGoneIsDroppedUnanswered) {
  for (const boost::system::error_code ec :
       {boost::system::error_code(boost::beast::error::timeout),
        boost::system::error_code(boost::asio::error::operation_aborted),
        boost::system::error_code(boost::asio::error::connection_reset),
        boost::system::error_code(boost::asio::error::bad_descriptor),
        boost::system::error_code(boost::asio::ssl::error::stream_truncated)}) {
    EXPECT_EQ(read_error_answer(ec, 0), drops) << ec.message();
    EXPECT_EQ(read_error_answer(ec, 10), drops) << ec.message();
  }
}

}  // namespace
}  // namespace hush::http
