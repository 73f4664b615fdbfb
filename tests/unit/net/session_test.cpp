#include "net/session.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <gtest/gtest.h>

#include "core/cidr.hpp"
#include "core/files.hpp"
#include "http/response.hpp"
#include "net/basic_session.hpp"
#include "net/engine.hpp"
#include "net/tls.hpp"
#include "net/tls_socket.hpp"
#include "pki/pki.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/temp_dir.hpp"
#include "support/test_club.hpp"

// net::basic_session on Beast's in-memory test::stream (and, where the kernel's buffers matter,
// on a loopback TCP socket), under a real TLS handshake, with a stub handler and deadlines of a
// few hundred milliseconds. Every wait runs the io_context under a bound; times are measured only
// to check that a deadline did not end a connection early.

namespace hush::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// How long any one wait of a test may take before the test fails: far above every deadline here.
constexpr auto wait_bound = 5s;
// A deadline that a test does not mean to reach.
constexpr auto far = std::chrono::seconds(30);
// Short deadlines, so that the suite stays fast.
constexpr auto short_deadline = 200ms;

// The server's certificate and key, made once for the whole suite, and a TLS context of ours.
std::shared_ptr<asio::ssl::context> server_context() {
  static const testing::temp_dir dir;
  static const std::shared_ptr<asio::ssl::context> context = [] {
    const auto ca = pki::make_ca("session test CA");
    const auto leaf = pki::issue_server(ca, {"localhost", "127.0.0.1"});
    tls_files files;
    files.cert_chain = dir.path() / "server.pem";
    files.private_key = dir.path() / "server.key";
    files::write_new(files.cert_chain, leaf.cert_pem, 0600);
    files::write_new(files.private_key, leaf.key_pem.view(), 0600);
    return make_server_context(files);
  }();
  return context;
}

// What the stub handler answers: the request's target as its body, or a large body for "/big".
constexpr std::size_t big_body_bytes = 8 * 1024 * 1024;

struct session_fixture : ::testing::Test {
  session_fixture() {
    cfg.max_header_bytes = 1024;
    cfg.max_body_bytes = 64;
    client_tls.set_verify_mode(asio::ssl::verify_none);
  }
  ~session_fixture() override {
    // Nothing a pool still runs may post to the io_context once it is gone.
    workers.join();
    hashing.join();
  }

  http::outcome answer(const http::request& req) {
    {
      const std::lock_guard lock(seen_mutex);
      seen.emplace_back(req.target());
    }
    if (req.target() == "/slow") {
      // A handler that takes longer than the client is given to send a request.
      std::this_thread::sleep_for(2 * short_deadline);
    }
    http::response res{bhttp::status::ok, req.version()};
    res.body() =
        req.target() == "/big" ? std::string(big_body_bytes, 'b') : std::string(req.target());
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return http::reply(std::move(res));
  }

  std::vector<std::string> seen_targets() {
    const std::lock_guard lock(seen_mutex);
    return seen;
  }

  // Runs the io_context until `done` holds; false if the bound passed first.
  bool run_until(const std::function<bool()>& done) {
    const auto give_up = steady::now() + wait_bound;
    while (!done()) {
      if (steady::now() >= give_up) {
        return false;
      }
      io.run_one_for(10ms);
    }
    return true;
  }

  // Runs the io_context for `time`: a client that waits before its next move.
  void pause(steady::duration time) {
    asio::steady_timer timer(io, time);
    bool over = false;
    timer.async_wait([&](boost::system::error_code) { over = true; });
    ASSERT_TRUE(run_until([&] { return over; }));
  }

  template <class Stream>
  void handshake(Stream& client) {
    std::optional<boost::system::error_code> result;
    client.async_handshake(asio::ssl::stream_base::client,
                           [&](boost::system::error_code ec) { result = ec; });
    ASSERT_TRUE(run_until([&] { return result.has_value(); }));
    ASSERT_FALSE(*result) << result->message();
  }

  template <class Stream>
  boost::system::error_code write(Stream& client, const std::string& bytes) {
    std::optional<boost::system::error_code> result;
    asio::async_write(client, asio::buffer(bytes),
                      [&](boost::system::error_code ec, std::size_t) { result = ec; });
    EXPECT_TRUE(run_until([&] { return result.has_value(); }));
    return result.value_or(asio::error::timed_out);
  }

  // Reads one response; the error if the connection ended instead.
  template <class Stream>
  boost::system::error_code read(Stream& client, http::response& res) {
    std::optional<boost::system::error_code> result;
    bhttp::async_read(client, client_buffer, res,
                      [&](boost::system::error_code ec, std::size_t) { result = ec; });
    EXPECT_TRUE(run_until([&] { return result.has_value(); }));
    return result.value_or(asio::error::timed_out);
  }

  // Waits for the session to end the connection: a read that fails without a response. Returns
  // when it did.
  template <class Stream>
  steady::time_point wait_for_close(Stream& client) {
    http::response res;
    const auto ec = read(client, res);
    EXPECT_TRUE(ec) << "a response came instead: " << res.result_int();
    EXPECT_NE(ec, asio::error::timed_out) << "the connection is still open";
    const auto closed = steady::now();
    // As a client does once the server is done: its own end goes too.
    beast::close_socket(beast::get_lowest_layer(client));
    return closed;
  }

  // The session is gone: its place given back, nothing in flight.
  bool session_gone() {
    return run_until([&] { return limiter.open_count() == 0; }) && state.in_flight.load() == 0;
  }

  // What a session refers to is declared before the io_context, so that sessions still pending
  // when a test fails go before it.
  config::config cfg;
  tls_context_holder tls{server_context()};
  asio::thread_pool workers{1};
  asio::thread_pool hashing{1};
  connection_limiter limiter{{100, 100, 100}};
  testing::test_club club;
  std::mutex seen_mutex;
  std::vector<std::string> seen;
  shared_state state{
      cfg,
      tls,
      [this](const http::request& req, const http::request_context&) { return answer(req); },
      {},
      workers,
      hashing,
      limiter,
      club.domain};
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  asio::ssl::context client_tls{asio::ssl::context::tls_client};
  beast::flat_buffer client_buffer;
  std::optional<asio::ip::tcp::acceptor> acceptor;  // for sessions on loopback TCP
};

// Where the tests run a session: Beast's in-memory test::stream under Beast's ssl_stream (Asio's
// SSL engine), or a loopback TCP connection under net::tls_socket, as the server runs it. Each
// connects a client (from 203.0.113.9, as far as the session knows) to a new session.
struct in_memory {
  static std::unique_ptr<beast::ssl_stream<beast::test::stream>> connect(
      session_fixture& f, session_deadlines deadlines) {
    auto client = std::make_unique<beast::ssl_stream<beast::test::stream>>(f.io, f.client_tls);
    beast::test::stream server_end(f.io);
    client->next_layer().connect(server_end);
    open_session<beast::ssl_stream<beast::test::stream>>(std::move(server_end), f.state,
                                                         "203.0.113.9", deadlines);
    return client;
  }
};

struct loopback {
  static std::unique_ptr<beast::ssl_stream<asio::ip::tcp::socket>> connect(
      session_fixture& f, session_deadlines deadlines) {
    if (!f.acceptor) {
      f.acceptor.emplace(f.io, asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0});
    }
    auto client = std::make_unique<beast::ssl_stream<asio::ip::tcp::socket>>(f.io, f.client_tls);
    client->next_layer().connect(f.acceptor->local_endpoint());
    client->next_layer().set_option(asio::ip::tcp::no_delay(true));
    auto server_end = f.acceptor->accept();
    server_end.set_option(asio::ip::tcp::no_delay(true));  // as net::engine sets it
    open_session<tls_socket>(std::move(server_end), f.state, "203.0.113.9", deadlines);
    return client;
  }
};

struct transport_names {
  template <class Transport>
  static std::string GetName(int) {
    return std::is_same_v<Transport, in_memory> ? "in_memory" : "loopback";
  }
};
using transports = ::testing::Types<in_memory, loopback>;

template <class Transport>
struct session_test : session_fixture {
  auto connect(session_deadlines deadlines) { return Transport::connect(*this, deadlines); }
};
TYPED_TEST_SUITE(session_test, transports, transport_names);

// A read answered from memory on the I/O thread whose view a change overtook before its audit
// committed is not sent: the session routes the request afresh (here the test's handler, which
// echoes the target), and nothing of the stale read was audited. A read from a current view is
// sent as it was made.
TYPED_TEST(session_test, AReadFromAnOvertakenViewIsRoutedAfresh) {
  this->club.add("alice", store::role::reader, "alice password");
  ASSERT_TRUE(this->club.domain.post("alice", "from the view"));
  std::shared_ptr<const club::read_view> view = this->club.domain.load_view().value();
  std::atomic<int> from_memory{0};
  this->state.from_memory = [&](const http::request& req,
                                const http::request_context& ctx) -> std::optional<http::reply> {
    ++from_memory;
    auto read = this->club.domain.read_newest(*view, "alice", ctx.remote).value();
    return http::reply(http::text_response(bhttp::status::ok, std::string(read.body.view()), req),
                       std::move(read.audit));
  };
  ASSERT_TRUE(this->club.domain.post("alice", "newer than the view"));  // overtakes it

  auto client = this->connect({far, far, far});
  this->handshake(*client);
  ASSERT_FALSE(this->write(*client, "GET /overtaken HTTP/1.1\r\nHost: h\r\n\r\n"));
  http::response first;
  ASSERT_FALSE(this->read(*client, first));
  EXPECT_EQ(first.body(), "/overtaken");
  EXPECT_EQ(from_memory.load(), 1);
  EXPECT_EQ(this->seen_targets(), (std::vector<std::string>{"/overtaken"}));
  EXPECT_TRUE(this->club.domain.audit_trail(10).value().empty());

  view = this->club.domain.load_view().value();
  ASSERT_FALSE(
      this->write(*client, "GET /current HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  http::response second;
  ASSERT_FALSE(this->read(*client, second));
  EXPECT_EQ(second.body(), "newer than the view");
  EXPECT_EQ(from_memory.load(), 2);
  EXPECT_EQ(this->seen_targets(), (std::vector<std::string>{"/overtaken"}));
  EXPECT_EQ(this->club.domain.audit_trail(10).value().size(), 1U);
  this->wait_for_close(*client);
  EXPECT_TRUE(this->session_gone());
}

TYPED_TEST(session_test, TwoPipelinedRequestsInOneWriteGetTwoAnswersInOrder) {
  auto client = this->connect({far, far, far});
  this->handshake(*client);
  ASSERT_FALSE(this->write(*client,
                           "GET /first HTTP/1.1\r\nHost: h\r\n\r\n"
                           "GET /second HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  http::response first;
  ASSERT_FALSE(this->read(*client, first));
  EXPECT_EQ(first.result(), bhttp::status::ok);
  EXPECT_EQ(first.body(), "/first");
  EXPECT_TRUE(first.keep_alive());
  http::response second;
  ASSERT_FALSE(this->read(*client, second));
  EXPECT_EQ(second.body(), "/second");
  EXPECT_FALSE(second.keep_alive());
  EXPECT_EQ(this->seen_targets(), (std::vector<std::string>{"/first", "/second"}));
  this->wait_for_close(*client);
  EXPECT_TRUE(this->session_gone());
}

// A trusted proxy's keep-alive connection carries many clients' requests (HAProxy's http-reuse).
// A request refused before its head is read (here 431) is the proxy's as far as hush knows, and
// must not be logged under the client of the request before it.
TYPED_TEST(session_test, ARefusedRequestFromAProxyIsNotLoggedAsThePreviousClient) {
  this->cfg.trusted_proxies = {*parse_cidr("203.0.113.9/32")};
  const std::string forwarded =
      "GET /first HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 198.51.100.1\r\n\r\n";
  const std::string too_large =
      "GET /second HTTP/1.1\r\nHost: h\r\n"
      "X-Forwarded-For: 198.51.100.2\r\nX-Pad: " +
      std::string(2000, 'p');
  auto client = this->connect({far, far, far, short_deadline});
  this->handshake(*client);
  ::testing::internal::CaptureStderr();
  ASSERT_FALSE(this->write(*client, forwarded));
  http::response first;
  ASSERT_FALSE(this->read(*client, first));
  EXPECT_EQ(first.result(), bhttp::status::ok);
  ASSERT_FALSE(this->write(*client, too_large));
  http::response refused;
  ASSERT_FALSE(this->read(*client, refused));
  EXPECT_EQ(refused.result(), bhttp::status::request_header_fields_too_large);
  this->wait_for_close(*client);
  EXPECT_TRUE(this->session_gone());
  const auto log = ::testing::internal::GetCapturedStderr();

  std::vector<std::string> access;  // the access lines, in order
  for (std::size_t at = 0; at < log.size();) {
    const auto end = std::min(log.find('\n', at), log.size());
    if (const auto line = log.substr(at, end - at); line.find(" access ") != std::string::npos) {
      access.push_back(line);
    }
    at = end + 1;
  }
  ASSERT_EQ(access.size(), 2U) << log;
  EXPECT_NE(access[0].find("client=198.51.100.1 "), std::string::npos) << log;
  EXPECT_NE(access[1].find("status=431"), std::string::npos) << log;
  EXPECT_NE(access[1].find("client=203.0.113.9 "), std::string::npos) << log;
}

TYPED_TEST(session_test, AHandshakeThatNeverStartsTimesOut) {
  const auto start = steady::now();
  auto client = this->connect({short_deadline, far, far});
  EXPECT_TRUE(this->session_gone());
  EXPECT_GE(steady::now() - start, short_deadline);
}

TYPED_TEST(session_test, AHeadThatStallsTimesOutUnanswered) {
  auto client = this->connect({far, short_deadline, far});
  this->handshake(*client);
  const auto start = steady::now();  // the session's deadline starts a little later
  ASSERT_FALSE(this->write(*client, "GET /stalled HTTP/1.1\r\nHost: h\r\n"));
  const auto closed = this->wait_for_close(*client);
  EXPECT_GE(closed - start, short_deadline);
  EXPECT_TRUE(this->seen_targets().empty());
  EXPECT_TRUE(this->session_gone());
}

TYPED_TEST(session_test, AnIdleKeepAliveConnectionClosesAfterTheIdleTimeout) {
  auto client = this->connect({far, far, short_deadline});
  this->handshake(*client);
  const auto asked = steady::now();  // the idle deadline starts once the answer is written
  ASSERT_FALSE(this->write(*client, "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"));
  http::response res;
  ASSERT_FALSE(this->read(*client, res));
  ASSERT_TRUE(res.keep_alive());
  const auto closed = this->wait_for_close(*client);
  EXPECT_GE(closed - asked, short_deadline);
  EXPECT_TRUE(this->session_gone());
}

// The client's deadlines measure the client: a handler slower than them still gets its answer out.
TYPED_TEST(session_test, NoDeadlineRunsWhileTheHandlerWorks) {
  auto client = this->connect({far, short_deadline, short_deadline});
  this->handshake(*client);
  ASSERT_FALSE(this->write(*client, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n"));
  http::response res;
  ASSERT_FALSE(this->read(*client, res));
  EXPECT_EQ(res.body(), "/slow");
}

// On a keep-alive connection the idle deadline runs until the next request's first byte; from
// there on the request's own.
TYPED_TEST(session_test, TheNextRequestsDeadlineStartsAtItsFirstByte) {
  constexpr auto idle = 300ms;
  constexpr auto request = 600ms;
  auto client = this->connect({far, request, idle});
  this->handshake(*client);
  ASSERT_FALSE(this->write(*client, "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"));
  http::response res;
  ASSERT_FALSE(this->read(*client, res));
  this->pause(idle / 2);
  const auto first_byte = steady::now();
  ASSERT_FALSE(this->write(*client, "GET /two HTTP/1.1\r\n"));
  const auto closed = this->wait_for_close(*client);
  EXPECT_GE(closed - first_byte, request);
  EXPECT_EQ(this->seen_targets(), (std::vector<std::string>{"/one"}));
  EXPECT_TRUE(this->session_gone());
}

// Between requests a session holds no read buffer and no parser: each request after an idle wait
// is read afresh, whether it arrives whole or in pieces.
TYPED_TEST(session_test, AKeepAliveConnectionServesRequestsAfterIdleWaits) {
  auto client = this->connect({far, far, far});
  this->handshake(*client);
  for (int i = 0; i < 5; ++i) {
    const auto target = "/r" + std::to_string(i);
    if (i % 2 == 0) {
      ASSERT_FALSE(this->write(*client, "GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n"));
    } else {
      ASSERT_FALSE(this->write(*client, "GET " + target + " HTTP/1.1\r\n"));
      this->pause(20ms);
      ASSERT_FALSE(this->write(*client, "Host: h\r\n\r\n"));
    }
    http::response res;
    ASSERT_FALSE(this->read(*client, res)) << i;
    EXPECT_EQ(res.body(), target);
    EXPECT_TRUE(res.keep_alive());
    this->pause(20ms);
  }
  EXPECT_EQ(this->seen_targets().size(), 5U);
}

// A refused request's answer is written, then the connection keeps reading and dropping what
// still arrives (each read gives it the linger time again), and only then closes.
template <class Transport>
struct lingering_test : session_test<Transport> {
  static constexpr auto linger = 400ms;

  void expect_answer_then_linger(const std::string& request, bhttp::status status) {
    auto client = this->connect({far, far, far, linger});
    this->handshake(*client);
    ASSERT_FALSE(this->write(*client, request));
    http::response res;
    ASSERT_FALSE(this->read(*client, res));
    EXPECT_EQ(res.result(), status);
    EXPECT_FALSE(res.keep_alive());
    // Still open, and still reading: writes spread over more than the linger time succeed, since
    // each arrives before the deadline the one before moved.
    auto last_write = steady::now();
    for (int i = 0; i < 6; ++i) {
      this->pause(linger / 4);
      last_write = steady::now();
      ASSERT_FALSE(this->write(*client, std::string(1000, 'x'))) << i;
    }
    const auto closed = this->wait_for_close(*client);
    EXPECT_GE(closed - last_write, linger);
    EXPECT_TRUE(this->seen_targets().empty());
    EXPECT_TRUE(this->session_gone());
  }
};

TYPED_TEST_SUITE(lingering_test, transports, transport_names);

TYPED_TEST(lingering_test, ABodyOverTheLimitIsAnswered413ThenLingers) {
  this->expect_answer_then_linger(
      "POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n" + std::string(500, 'y'),
      bhttp::status::payload_too_large);
}

TYPED_TEST(lingering_test, AHeadOverTheLimitIsAnswered431ThenLingers) {
  this->expect_answer_then_linger("GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(2000, 'p'),
                                  bhttp::status::request_header_fields_too_large);
}

TYPED_TEST(lingering_test, ObsFoldIsAnswered400ThenLingers) {
  this->expect_answer_then_linger("GET / HTTP/1.1\r\nHost: h\r\nX-A: b\r\n c\r\n\r\n",
                                  bhttp::status::bad_request);
}

// A client that asks for a large answer and never reads it fills the kernel's buffers and stalls
// the write; the write's deadline ends the connection. Real sockets, since in-memory streams
// never push back.
struct session_over_tcp_test : session_fixture {};

TEST_F(session_over_tcp_test, AClientThatStopsReadingIsClosedAtTheWriteDeadline) {
  asio::ip::tcp::acceptor listener(io, {asio::ip::make_address("127.0.0.1"), 0});
  beast::ssl_stream<asio::ip::tcp::socket> client(io, client_tls);
  // Small buffers on both ends, so that a few hundred KiB fill them.
  client.next_layer().open(asio::ip::tcp::v4());
  client.next_layer().set_option(asio::socket_base::receive_buffer_size(4096));
  client.next_layer().connect(listener.local_endpoint());
  auto server_end = listener.accept();
  server_end.set_option(asio::socket_base::send_buffer_size(4096));
  open_session<tls_socket>(std::move(server_end), state, "127.0.0.1", {far, short_deadline, far});

  handshake(client);
  ASSERT_FALSE(write(client, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n"));
  const auto asked = steady::now();
  // The client never reads again.
  EXPECT_TRUE(session_gone());
  EXPECT_GE(steady::now() - asked, short_deadline);
  EXPECT_EQ(seen_targets(), (std::vector<std::string>{"/big"}));
}

}  // namespace
}  // namespace hush::net
