#include "net/tls_socket.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "core/files.hpp"
#include "net/tls.hpp"
#include "pki/pki.hpp"
#include "support/temp_dir.hpp"

// net::tls_socket on loopback TCP sockets under our server TLS context, against Asio's own
// ssl::stream as the client, and, where errors are compared, against Asio's ssl::stream as the
// server in the same scenario. Every wait runs the io_context under a bound.

namespace hush::net {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// How long any one wait of a test may take before the test fails.
constexpr auto wait_bound = 10s;
constexpr std::size_t mebibyte = 1024 * 1024;

std::shared_ptr<ssl::context> server_context() {
  static const testing::temp_dir dir;
  static const std::shared_ptr<ssl::context> context = [] {
    const auto ca = pki::make_ca("tls_socket test CA");
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

std::string pattern(std::size_t size, std::uint8_t seed) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<char>((i * 31 + seed) % 251);
  }
  return out;
}

struct io_fixture : ::testing::Test {
  io_fixture() { client_tls.set_verify_mode(ssl::verify_none); }

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

  void pause(steady::duration time) {
    asio::steady_timer timer(io, time);
    bool over = false;
    timer.async_wait([&](error_code) { over = true; });
    ASSERT_TRUE(run_until([&] { return over; }));
  }

  // A TCP connection on loopback: the client's end connected, the server's accepted.
  tcp::socket accept_from(tcp::socket& client_end) {
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    client_end.connect(acceptor.local_endpoint());
    return acceptor.accept();
  }

  asio::io_context io;
  // The io_context never runs out of work between two waits (it would stop).
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::shared_ptr<ssl::context> context = server_context();
  ssl::context client_tls{ssl::context::tls_client};
};

struct tls_socket_test : io_fixture {
  void connect() { server.emplace(accept_from(client.next_layer()), *context); }

  void handshake() {
    std::optional<error_code> server_done;
    std::optional<error_code> client_done;
    server->async_handshake(ssl::stream_base::server, [&](error_code ec) { server_done = ec; });
    client.async_handshake(ssl::stream_base::client, [&](error_code ec) { client_done = ec; });
    ASSERT_TRUE(run_until([&] { return server_done && client_done; }));
    ASSERT_FALSE(*server_done) << server_done->message();
    ASSERT_FALSE(*client_done) << client_done->message();
  }

  void connect_and_handshake() {
    connect();
    handshake();
  }

  template <class Stream>
  error_code write_all(Stream& stream, const std::string& bytes) {
    std::optional<error_code> result;
    asio::async_write(stream, asio::buffer(bytes),
                      [&](error_code ec, std::size_t) { result = ec; });
    EXPECT_TRUE(run_until([&] { return result.has_value(); }));
    return result.value_or(asio::error::timed_out);
  }

  // Reads exactly `size` bytes, or up to the error that came first.
  template <class Stream>
  std::pair<error_code, std::string> read_exactly(Stream& stream, std::size_t size) {
    std::string out(size, '\0');
    std::optional<error_code> result;
    std::size_t got = 0;
    asio::async_read(stream, asio::buffer(out), [&](error_code ec, std::size_t n) {
      result = ec;
      got = n;
    });
    EXPECT_TRUE(run_until([&] { return result.has_value(); }));
    out.resize(got);
    return {result.value_or(asio::error::timed_out), out};
  }

  error_code server_read_error() {
    std::array<char, 64> bytes{};
    std::optional<error_code> result;
    server->async_read_some(asio::buffer(bytes), [&](error_code ec, std::size_t) { result = ec; });
    EXPECT_TRUE(run_until([&] { return result.has_value(); }));
    return result.value_or(asio::error::timed_out);
  }

  ssl::stream<tcp::socket> client{io, client_tls};
  std::optional<tls_socket> server;
};

TEST_F(tls_socket_test, TheServerMakesItsSslObjectOnlyOnceTheClientSpeaks) {
  connect();
  std::optional<error_code> server_done;
  server->async_handshake(ssl::stream_base::server, [&](error_code ec) { server_done = ec; });
  pause(100ms);
  EXPECT_FALSE(server_done);
  EXPECT_EQ(server->native_handle(), nullptr);

  std::optional<error_code> client_done;
  client.async_handshake(ssl::stream_base::client, [&](error_code ec) { client_done = ec; });
  ASSERT_TRUE(run_until([&] { return server_done && client_done; }));
  EXPECT_FALSE(*server_done) << server_done->message();
  EXPECT_FALSE(*client_done) << client_done->message();
  ASSERT_NE(server->native_handle(), nullptr);
  EXPECT_EQ(SSL_version(server->native_handle()), TLS1_3_VERSION);
}

// An idle connection keeps no record buffers, and those it gives back hold no plaintext.
TEST_F(tls_socket_test, RecordBuffersAreGivenBackAndCleansed) {
  connect_and_handshake();
  SSL* ssl = server->native_handle();
  EXPECT_NE(SSL_get_mode(ssl) & SSL_MODE_RELEASE_BUFFERS, 0U);
  EXPECT_NE(SSL_get_options(ssl) & SSL_OP_CLEANSE_PLAINTEXT, 0U);
}

TEST_F(tls_socket_test, TheLowestLayerIsTheTcpSocket) {
  connect();
  static_assert(std::is_same_v<boost::beast::lowest_layer_type<tls_socket>, tcp::socket>);
  EXPECT_EQ(&boost::beast::get_lowest_layer(*server), &server->next_layer());
  EXPECT_TRUE(boost::beast::get_lowest_layer(*server).is_open());
}

// Both ends write a mebibyte while they read the other's: the socket buffers fill, writes wait
// for room while reads go on.
TEST_F(tls_socket_test, AMebibyteEachWayAtOnce) {
  connect_and_handshake();
  const auto from_server = pattern(mebibyte, 1);
  const auto from_client = pattern(mebibyte, 2);
  std::string server_got(mebibyte, '\0');
  std::string client_got(mebibyte, '\0');
  std::vector<error_code> results;
  const auto done = [&](error_code ec, std::size_t) { results.push_back(ec); };
  asio::async_write(*server, asio::buffer(from_server), done);
  asio::async_read(*server, asio::buffer(server_got), done);
  asio::async_write(client, asio::buffer(from_client), done);
  asio::async_read(client, asio::buffer(client_got), done);
  ASSERT_TRUE(run_until([&] { return results.size() == 4; }));
  for (const auto& ec : results) {
    EXPECT_FALSE(ec) << ec.message();
  }
  EXPECT_TRUE(server_got == from_client);
  EXPECT_TRUE(client_got == from_server);
}

TEST_F(tls_socket_test, AMebibyteEachWayInTurn) {
  connect_and_handshake();
  const auto up = pattern(mebibyte, 3);
  std::optional<error_code> written;
  asio::async_write(client, asio::buffer(up), [&](error_code ec, std::size_t) { written = ec; });
  const auto [read_ec, got] = read_exactly(*server, mebibyte);
  ASSERT_FALSE(read_ec) << read_ec.message();
  EXPECT_TRUE(got == up);
  ASSERT_TRUE(run_until([&] { return written.has_value(); }));

  const auto down = pattern(mebibyte, 4);
  std::optional<error_code> sent;
  asio::async_write(*server, asio::buffer(down), [&](error_code ec, std::size_t n) {
    sent = ec;
    EXPECT_EQ(n, mebibyte);
  });
  const auto [client_ec, client_got] = read_exactly(client, mebibyte);
  ASSERT_FALSE(client_ec) << client_ec.message();
  EXPECT_TRUE(client_got == down);
  ASSERT_TRUE(run_until([&] { return sent.has_value(); }));
  EXPECT_FALSE(*sent);
}

TEST_F(tls_socket_test, ManySmallWritesArriveWholeAndInOrder) {
  connect_and_handshake();
  const auto all = pattern(64 * 1024, 5);
  std::size_t offset = 0;
  std::size_t size = 1;
  std::optional<error_code> failed;
  std::function<void()> next = [&] {
    if (offset == all.size()) {
      return;
    }
    const auto n = std::min(size, all.size() - offset);
    size = size % 97 + 1;
    asio::async_write(*server, asio::buffer(all.data() + offset, n),
                      [&, n](error_code ec, std::size_t) {
                        if (ec) {
                          failed = ec;
                          return;
                        }
                        offset += n;
                        next();
                      });
  };
  next();
  const auto [ec, got] = read_exactly(client, all.size());
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_FALSE(failed);
  EXPECT_TRUE(got == all);
}

TEST_F(tls_socket_test, EmptyReadsAndWritesCompleteAtOnceButNotInsideTheCall) {
  connect_and_handshake();
  std::optional<std::pair<error_code, std::size_t>> read;
  std::optional<std::pair<error_code, std::size_t>> written;
  server->async_read_some(asio::mutable_buffer(),
                          [&](error_code ec, std::size_t n) { read.emplace(ec, n); });
  server->async_write_some(asio::const_buffer(),
                           [&](error_code ec, std::size_t n) { written.emplace(ec, n); });
  EXPECT_FALSE(read);
  EXPECT_FALSE(written);
  ASSERT_TRUE(run_until([&] { return read && written; }));
  EXPECT_EQ(*read, std::make_pair(error_code(), std::size_t{0}));
  EXPECT_EQ(*written, std::make_pair(error_code(), std::size_t{0}));
}

TEST_F(tls_socket_test, ThePeersCloseNotifyIsEofAndOursCompletesItsShutdown) {
  connect_and_handshake();
  std::optional<error_code> client_shutdown;
  client.async_shutdown([&](error_code ec) { client_shutdown = ec; });
  EXPECT_EQ(server_read_error(), asio::error::eof);

  std::optional<error_code> server_shutdown;
  server->async_shutdown([&](error_code ec) { server_shutdown = ec; });
  ASSERT_TRUE(run_until([&] { return server_shutdown && client_shutdown; }));
  EXPECT_FALSE(*server_shutdown) << server_shutdown->message();
  EXPECT_FALSE(*client_shutdown) << client_shutdown->message();
}

TEST_F(tls_socket_test, ATcpEndWithoutCloseNotifyIsStreamTruncated) {
  connect_and_handshake();
  // A FIN: closing would send a reset, since the server's session tickets lie unread.
  client.next_layer().shutdown(tcp::socket::shutdown_send);
  EXPECT_EQ(server_read_error(), ssl::error::stream_truncated);
}

// The session's deadline closes the socket under whatever is pending.
TEST_F(tls_socket_test, ClosingTheSocketAbortsAPendingReadAndFailsTheNext) {
  connect_and_handshake();
  std::optional<error_code> pending;
  std::array<char, 16> bytes{};
  server->async_read_some(asio::buffer(bytes), [&](error_code ec, std::size_t) { pending = ec; });
  pause(50ms);
  EXPECT_FALSE(pending);
  boost::beast::close_socket(boost::beast::get_lowest_layer(*server));
  ASSERT_TRUE(run_until([&] { return pending.has_value(); }));
  EXPECT_EQ(*pending, asio::error::operation_aborted);
  EXPECT_EQ(server_read_error(), asio::error::bad_descriptor);
}

TEST_F(tls_socket_test, ClosingTheSocketAbortsAHandshakeThatWaitsForTheFirstByte) {
  connect();
  std::optional<error_code> result;
  server->async_handshake(ssl::stream_base::server, [&](error_code ec) { result = ec; });
  pause(50ms);
  boost::beast::close_socket(boost::beast::get_lowest_layer(*server));
  ASSERT_TRUE(run_until([&] { return result.has_value(); }));
  EXPECT_EQ(*result, asio::error::operation_aborted);
  EXPECT_EQ(server->native_handle(), nullptr);
}

// OpenSSL's own socket BIO writes with write(2), and a write to a peer that has gone would raise
// SIGPIPE and end the process; ours fails the write instead.
TEST_F(tls_socket_test, WritingToAPeerThatHasGoneFailsWithoutSigpipe) {
  connect_and_handshake();
  client.next_layer().set_option(asio::socket_base::linger(true, 0));  // a reset, not a FIN
  client.next_layer().close();
  const auto chunk = pattern(64 * 1024, 6);
  error_code ec;
  for (int i = 0; i < 100 && !ec; ++i) {  // the first writes may still land in the kernel
    ec = write_all(*server, chunk);
  }
  EXPECT_TRUE(ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
      << ec.message();
}

TEST_F(tls_socket_test, WaitReadableCompletesWhenBytesArrive) {
  connect_and_handshake();
  std::optional<error_code> readable;
  server->async_wait_readable([&](error_code ec) { readable = ec; });
  pause(50ms);
  EXPECT_FALSE(readable);
  ASSERT_FALSE(write_all(client, "hello"));
  ASSERT_TRUE(run_until([&] { return readable.has_value(); }));
  EXPECT_FALSE(*readable);
  const auto [ec, got] = read_exactly(*server, 5);
  EXPECT_FALSE(ec);
  EXPECT_EQ(got, "hello");
}

// A TLS 1.3 KeyUpdate that asks for ours in return arrives while the server reads: the read goes
// on, and the server's own KeyUpdate reaches the client before the next answer.
// Counts the TLS 1.3 KeyUpdate messages the client receives.
int key_updates_received = 0;
void count_key_updates(int write_p, int, int content_type, const void* buf, std::size_t len, SSL*,
                       void*) {
  if (write_p == 0 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
      *static_cast<const unsigned char*>(buf) == SSL3_MT_KEY_UPDATE) {
    ++key_updates_received;
  }
}

TEST_F(tls_socket_test, AKeyUpdateFromTheClientIsAnsweredMidStream) {
  connect_and_handshake();
  key_updates_received = 0;
  SSL_set_msg_callback(client.native_handle(), count_key_updates);
  ASSERT_FALSE(write_all(client, "before"));
  EXPECT_EQ(read_exactly(*server, 6).second, "before");

  ASSERT_EQ(SSL_key_update(client.native_handle(), SSL_KEY_UPDATE_REQUESTED), 1);
  const auto after = pattern(100 * 1024, 7);
  std::optional<error_code> sent;
  asio::async_write(client, asio::buffer(after), [&](error_code ec, std::size_t) { sent = ec; });
  const auto [ec, got] = read_exactly(*server, after.size());
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(got == after);
  ASSERT_TRUE(run_until([&] { return sent.has_value(); }));

  ASSERT_FALSE(write_all(*server, "answer"));
  EXPECT_EQ(read_exactly(client, 6).second, "answer");
  EXPECT_EQ(key_updates_received, 1);
}

// The same while a write of the server's waits on a full socket: OpenSSL holds the answering
// KeyUpdate back until that write is out, and the read meanwhile goes on.
TEST_F(tls_socket_test, AKeyUpdateArrivingWhileAWriteWaitsIsAnsweredAfterIt) {
  connect_and_handshake();
  key_updates_received = 0;
  SSL_set_msg_callback(client.native_handle(), count_key_updates);
  const auto big = pattern(8 * mebibyte, 8);
  std::optional<error_code> sent;
  asio::async_write(*server, asio::buffer(big), [&](error_code ec, std::size_t) { sent = ec; });
  pause(100ms);
  ASSERT_FALSE(sent) << "the client does not read yet: the write must wait";

  ASSERT_EQ(SSL_key_update(client.native_handle(), SSL_KEY_UPDATE_REQUESTED), 1);
  ASSERT_FALSE(write_all(client, "x"));
  EXPECT_EQ(read_exactly(*server, 1).second, "x");
  const auto [ec, got] = read_exactly(client, big.size());
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(got == big);
  ASSERT_TRUE(run_until([&] { return sent.has_value(); }));
  EXPECT_FALSE(*sent) << sent->message();

  ASSERT_FALSE(write_all(*server, "answer"));
  EXPECT_EQ(read_exactly(client, 6).second, "answer");
  EXPECT_EQ(key_updates_received, 1);
}

// Renegotiation stays off (the context's SSL_OP_NO_RENEGOTIATION): a TLS 1.2 client that asks
// for it is refused (OpenSSL's client then ends the connection with an alert, which the server's
// read reports).
TEST_F(tls_socket_test, ARenegotiationIsRefused) {
  SSL_set_max_proto_version(client.native_handle(), TLS1_2_VERSION);
  connect_and_handshake();
  ASSERT_EQ(SSL_version(server->native_handle()), TLS1_2_VERSION);
  std::array<char, 16> bytes{};
  std::optional<error_code> read;
  server->async_read_some(asio::buffer(bytes), [&](error_code ec, std::size_t) { read = ec; });
  ASSERT_EQ(SSL_renegotiate(client.native_handle()), 1);
  std::optional<error_code> renegotiated;
  client.async_handshake(ssl::stream_base::client, [&](error_code ec) { renegotiated = ec; });
  ASSERT_TRUE(run_until([&] { return renegotiated && read; }));
  EXPECT_TRUE(*renegotiated) << "the server accepted a renegotiation";
  EXPECT_EQ(read->category(), asio::error::get_ssl_category()) << read->message();
  EXPECT_EQ(SSL_num_renegotiations(server->native_handle()), 0);
}

// The same scenario against Asio's ssl::stream as the server and against tls_socket: the error
// the server sees must be the same, since the session and http::read_error_answer sort errors
// by Asio's codes.
enum class scenario {
  not_tls,
  tcp_end_in_handshake,
  close_notify,
  tcp_end_after_handshake,
  reset_after_handshake
};

struct same_errors_as_asio : io_fixture, ::testing::WithParamInterface<scenario> {
  template <class Server>
  error_code server_error(scenario what) {
    ssl::stream<tcp::socket> peer(io, client_tls);
    std::optional<Server> server;
    server.emplace(accept_from(peer.next_layer()), *context);
    std::optional<error_code> handshake;
    server->async_handshake(ssl::stream_base::server, [&](error_code ec) { handshake = ec; });
    if (what == scenario::not_tls || what == scenario::tcp_end_in_handshake) {
      const std::string bytes =
          what == scenario::not_tls ? "GET / HTTP/1.1\r\nHost: x\r\n\r\n" : "\x16\x03\x01\x02";
      asio::write(peer.next_layer(), asio::buffer(bytes));
      if (what == scenario::tcp_end_in_handshake) {
        peer.next_layer().shutdown(tcp::socket::shutdown_send);
      }
      EXPECT_TRUE(run_until([&] { return handshake.has_value(); }));
      return handshake.value_or(asio::error::timed_out);
    }
    std::optional<error_code> peer_handshake;
    peer.async_handshake(ssl::stream_base::client, [&](error_code ec) { peer_handshake = ec; });
    EXPECT_TRUE(run_until([&] { return handshake && peer_handshake; }));
    std::optional<error_code> peer_shutdown;
    if (what == scenario::close_notify) {
      peer.async_shutdown([&](error_code ec) { peer_shutdown = ec; });
    } else if (what == scenario::tcp_end_after_handshake) {
      peer.next_layer().shutdown(tcp::socket::shutdown_send);
      peer_shutdown = error_code();
    } else {
      peer.next_layer().set_option(asio::socket_base::linger(true, 0));
      peer.next_layer().close();
      peer_shutdown = error_code();
    }
    std::array<char, 64> bytes{};
    std::optional<error_code> read;
    server->async_read_some(asio::buffer(bytes), [&](error_code ec, std::size_t) { read = ec; });
    EXPECT_TRUE(run_until([&] { return read.has_value(); }));
    // Nothing may stay pending on the streams that go now.
    boost::system::error_code ignored;
    peer.next_layer().close(ignored);
    EXPECT_TRUE(run_until([&] { return peer_shutdown.has_value(); }));
    return read.value_or(asio::error::timed_out);
  }
};

TEST_P(same_errors_as_asio, OnTheServersSide) {
  const auto asio_error = server_error<ssl::stream<tcp::socket>>(GetParam());
  const auto ours = server_error<tls_socket>(GetParam());
  EXPECT_TRUE(asio_error) << "the scenario should fail";
  EXPECT_EQ(ours, asio_error) << "ours: " << ours.message() << "; Asio's: " << asio_error.message();
}

std::string scenario_name(const ::testing::TestParamInfo<scenario>& param) {
  constexpr std::array names{"not_tls", "tcp_end_in_handshake", "close_notify",
                             "tcp_end_after_handshake", "reset_after_handshake"};
  return names.at(static_cast<std::size_t>(param.param));
}

INSTANTIATE_TEST_SUITE_P(scenarios, same_errors_as_asio,
                         ::testing::Values(scenario::not_tls, scenario::tcp_end_in_handshake,
                                           scenario::close_notify,
                                           scenario::tcp_end_after_handshake,
                                           scenario::reset_after_handshake),
                         scenario_name);

}  // namespace
}  // namespace hush::net
