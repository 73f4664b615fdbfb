// libFuzzer target: raw request bytes through the path a connection runs after TLS, without the
// socket, calling the session's own admission functions: http::scan_head on the raw bytes, then a
// Beast request_parser with the server's header and body limits (from a default config), fed with
// parser.put(), http::head_refusal on the parsed head before the body, and
// http::read_error_answer on a parse error; every request that parses goes to router::handle()
// against a small club built once. A keep-alive connection parses the next request from the bytes
// left over, as the server does with its read buffer, so a few pipelined requests are followed.
//
// Invariants checked (abort on violation):
//  - a head scan_head admits is within the header limit, and every parse error is answered;
//  - no exception escapes the router (handlers report errors as values; the server would turn
//    one into a 500, hiding the bug);
//  - no response is a 500 (nothing in here can fail for a reason that is not a bug);
//  - every response carries the security headers, and serialises to bytes that parse back as one
//    HTTP response with the same status and body (no header injection, no bad framing);
//  - a message's plaintext appears only in a 200 response.
//
// The club's state (messages posted and deleted by earlier inputs, the credential cache) carries
// over between inputs; the clocks stand still and the authenticator's throttle never blocks, so
// that what a single input does depends as little as possible on the ones before it. Most inputs
// never reach Argon2id; those with a wrong password for a Basic header do, at the cheapest cost.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "auth/tokens.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "http/admission.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "support/test_club.hpp"

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace hush;

// Requests followed on one connection per input.
constexpr int max_requests_per_input = 8;

// Plaintexts of the seeded messages; none may ever show in anything but a 200.
const std::vector<std::string>& seeded_secrets() {
  static const std::vector<std::string> secrets = {
      "the first fuzzing secret",
      "the second fuzzing secret\nwith a second line",
      "\xc3\xbc\xc3\xb1\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9 fuzzing secret",
  };
  return secrets;
}

// API tokens (43 base64url characters) in the fuzz club: one valid, one expired.
constexpr std::string_view poster_token = "FuzzPosterToken_0123456789abcdefghijklmnopq";
constexpr std::string_view expired_token = "FuzzExpiredToken-0123456789abcdefghijklmnop";
static_assert(poster_token.size() == 43 && expired_token.size() == 43);

auth::throttle_policy never_blocking() {
  auth::throttle_policy p;
  p.member_free_failures = std::numeric_limits<unsigned>::max() / 2;
  p.address_free_failures = std::numeric_limits<unsigned>::max() / 2;
  return p;
}

struct world {
  world() {
    // Handlers log failures; a fuzzer's inputs fail all the time.
    log::set_level(log::level::error);
    club.add("reader", store::role::reader, "reader password");
    club.add("poster", store::role::poster, "poster password");
    club.add("admin", store::role::admin, "admin password");
    for (const auto& s : seeded_secrets()) {
      if (!club.domain.post("poster", s)) {
        std::fprintf(stderr, "fuzz_request: cannot seed a message\n");
        std::abort();
      }
    }
    const auto now = club.clock.now_seconds();
    if (!club.store.add_token({"fuzz", "poster", now, 0}, auth::token_hash(poster_token)) ||
        !club.store.add_token({"fuzz-expired", "reader", now - 100, now - 1},
                              auth::token_hash(expired_token))) {
      std::fprintf(stderr, "fuzz_request: cannot add the tokens\n");
      std::abort();
    }
    auth.set_clock([] { return auth::authenticator::clock::time_point(std::chrono::hours(1)); });
  }

  config::config cfg;
  testing::test_club club{cfg.max_message_bytes};
  // Not club.auth: with the default throttle, ten wrong passwords from the one remote address
  // would block every later input before it reaches a handler.
  auth::authenticator auth{club.domain, club.hasher, never_blocking(), std::chrono::seconds(300)};
  http::router router{http::services{club.domain, auth, cfg}};
};

void check(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_request: invariant broken: %s\n%s\n", what, detail.c_str());
    std::abort();
  }
}

std::string serialise(const http::response& res) {
  std::ostringstream out;
  out << res;
  return out.str();
}

void check_response(const http::response& res) {
  check(res.result() != http::status::internal_server_error, "500 response", serialise(res));
  for (const std::string_view name :
       {"Strict-Transport-Security", "Cache-Control", "X-Content-Type-Options",
        "Content-Security-Policy", "Referrer-Policy", "X-Frame-Options"}) {
    check(res.find(name) != res.end(), "security header missing", serialise(res));
  }
  check(res.find(http::field::server) == res.end(), "Server header set", serialise(res));

  const std::string wire = serialise(res);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.eager(true);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::error_code ec;
  const auto used = parser.put(boost::asio::buffer(wire), ec);
  check(!ec && parser.is_done(), "response does not parse back", wire);
  check(used == wire.size(), "response has bytes after its end", wire);
  const auto& back = parser.get();
  check(back.result() == res.result(), "status changed on the wire", wire);
  check(back.body() == res.body(), "body changed on the wire", wire);

  if (res.result() != http::status::ok) {
    for (const auto& s : seeded_secrets()) {
      check(res.body().find(s) == std::string::npos, "plaintext in a non-200 response", wire);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static world w;
  // HUSH_FUZZ_VERBOSE=1: one line per request handled, to see where a corpus file goes.
  static const bool verbose = std::getenv("HUSH_FUZZ_VERBOSE") != nullptr;
  const http::request_context ctx{"198.51.100.4"};

  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < max_requests_per_input && !rest.empty(); ++i) {
    // The raw head first, as the session scans it before any parser sees it.
    const auto scan = http::scan_head(rest, w.cfg.max_header_bytes);
    if (scan.at == http::head_scan::state::refused) {
      if (verbose) {
        std::fprintf(stderr, "fuzz_request: head refused before parsing\n");
      }
      check_response(http::error_response(scan.refusal, 11, false));
      return 0;
    }
    if (scan.at == http::head_scan::state::incomplete) {
      if (verbose) {
        std::fprintf(stderr, "fuzz_request: incomplete head\n");
      }
      return 0;  // the session would wait for more, then time out
    }
    check(scan.size <= rest.size() && scan.size <= w.cfg.max_header_bytes,
          "scan_head admitted a head it does not hold, or over the limit");

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(w.cfg.max_header_bytes));
    parser.body_limit(w.cfg.max_body_bytes);

    // The head, then (as the session does once http::head_refusal let it through) the body.
    beast::error_code ec;
    bool head_checked = false;
    while (!parser.is_done() && !rest.empty()) {
      const auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(used);
      if (ec == bhttp::error::need_more) {
        // Incomplete: the server would wait for more bytes, then time out. One put() has already
        // parsed all it could; putting the same bytes again without new ones is not what Beast's
        // own read loop does, and trips Beast's internal assertions.
        ec = {};
        break;
      }
      if (ec) {
        break;
      }
      if (parser.is_header_done() && !head_checked) {
        head_checked = true;
        // What the session refuses, and closes, once the head is parsed (on_header).
        if (const auto refusal = http::head_refusal(parser.get())) {
          if (verbose) {
            std::fprintf(stderr, "fuzz_request: head refused\n");
          }
          check_response(http::error_response(*refusal, 11, false));
          return 0;
        }
        parser.eager(true);
      }
    }

    if (ec) {
      if (verbose) {
        std::fprintf(stderr, "fuzz_request: parse error: %s\n", ec.message().c_str());
      }
      // What the session does then (on_read); an answer is all there is to check.
      const auto failure = http::read_error_answer(ec, scan.size);
      check(failure.then == http::read_failure::action::answer, "a parse error not answered",
            ec.message());
      check_response(http::error_response(failure.error, 11, false));
      return 0;
    }
    if (!parser.is_done()) {
      if (verbose) {
        std::fprintf(stderr, "fuzz_request: incomplete request\n");
      }
      return 0;
    }

    const http::request req = parser.release();
    const http::response res = w.router.handle(req, ctx);
    if (verbose) {
      std::fprintf(stderr, "fuzz_request: %s %s -> %u\n", std::string(req.method_string()).c_str(),
                   std::string(req.target()).c_str(), res.result_int());
    }
    check_response(res);
    if (!res.keep_alive()) {
      return 0;
    }
  }
  return 0;
}
