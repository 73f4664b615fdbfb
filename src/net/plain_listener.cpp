#include "net/plain_listener.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "auth/throttle.hpp"
#include "core/log.hpp"
#include "http/response.hpp"
#include "net/connection_limiter.hpp"
#include "net/server.hpp"

namespace hush::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;

constexpr auto first_pause = std::chrono::milliseconds(10);
constexpr auto longest_pause = std::chrono::milliseconds(1000);

// One connection: read a head, answer it, close. The limiter may close it first to make room.
class exchange : public std::enable_shared_from_this<exchange> {
 public:
  exchange(asio::ip::tcp::socket socket, const plain_listener::handler& answer,
           const plain_limits& limits, connection_limiter& limiter, connection_limiter::ticket id)
      : stream_(std::move(socket)),
        answer_(answer),
        limits_(limits),
        limiter_(limiter),
        id_(id),
        buffer_(limits.max_head_bytes) {}
  ~exchange() { limiter_.close(id_); }
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  void start() {
    // Called on the listener's thread, the only one this connection's handlers run on.
    const bool watched = limiter_.watch(id_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->stream_.close();
      }
    });
    if (!watched) {
      return;
    }
    parser_.header_limit(static_cast<std::uint32_t>(limits_.max_head_bytes));
    stream_.expires_after(limits_.deadline);
    beast::http::async_read_header(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_head(ec); });
  }

 private:
  void on_head(beast::error_code ec) {
    if (ec || !limiter_.request_seen(id_)) {
      return;
    }
    const auto& req = parser_.get();
    http::serialize(answer_(req), wire_, req.method() != http::verb::head);
    asio::async_write(
        stream_, asio::buffer(wire_), [self = shared_from_this()](beast::error_code, std::size_t) {
          beast::error_code ignored;
          self->stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        });
  }

  beast::tcp_stream stream_;
  const plain_listener::handler& answer_;
  const plain_limits& limits_;
  connection_limiter& limiter_;
  connection_limiter::ticket id_;
  beast::flat_buffer buffer_;
  beast::http::request_parser<beast::http::string_body> parser_;
  std::string wire_;
};

}  // namespace

struct plain_listener::impl {
  impl(const config::listen_address& where, std::string what_it_is, plain_limits limits_given,
       handler answer_given)
      : what(std::move(what_it_is)),
        limits(limits_given),
        answer(std::move(answer_given)),
        limiter({limits.max_connections, limits.max_per_address, limits.max_per_network}),
        acceptor(io) {
    listen_on(acceptor, where, what + ": ");
    accept();
    thread = std::thread([this] { io.run(); });
  }

  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  impl(impl&&) = delete;
  impl& operator=(impl&&) = delete;

  ~impl() {
    io.stop();
    if (thread.joinable()) {
      thread.join();
    }
  }

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
      if (ec == asio::error::operation_aborted) {
        return;
      }
      if (!ec) {
        pause = {};
        admit(std::move(socket));
        accept();
        return;
      }
      // Out of descriptors (or memory) the next accept fails at once too: pause, doubling up to
      // a second, rather than spin, as the HTTPS engine does.
      pause = std::clamp(pause * 2, first_pause, longest_pause);
      accept_log.write(log::level::warn, what + ": accept failed: " + ec.message() +
                                             "; pausing accepts for " +
                                             std::to_string(pause.count()) + " ms");
      pause_timer.expires_after(pause);
      pause_timer.async_wait([this](boost::system::error_code wait_ec) {
        if (!wait_ec) {
          accept();
        }
      });
    });
  }

  void admit(asio::ip::tcp::socket socket) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) {
      return;
    }
    const auto remote = peer.address().to_string();
    auto admitted = limiter.open(auth::address_key(remote), auth::network_key(remote));
    if (admitted.evicted) {
      admitted.evicted();
    }
    if (admitted.outcome != connection_limiter::verdict::admitted) {
      return;  // closed unanswered: a flood from one place
    }
    std::make_shared<exchange>(std::move(socket), answer, limits, limiter, admitted.id)->start();
  }

  std::string what;
  plain_limits limits;
  handler answer;
  // Before io: connections still pending when io goes give their places back from their
  // destructors.
  connection_limiter limiter;
  log::rate_limited accept_log;
  asio::io_context io{1};
  asio::ip::tcp::acceptor acceptor;
  asio::steady_timer pause_timer{io};
  std::chrono::milliseconds pause{0};
  std::thread thread;
};

plain_listener::plain_listener(const config::listen_address& where, std::string what,
                               plain_limits limits, handler answer)
    : impl_(std::make_unique<impl>(where, std::move(what), limits, std::move(answer))) {}

plain_listener::~plain_listener() = default;

boost::asio::ip::tcp::endpoint plain_listener::local_endpoint() const {
  return impl_->acceptor.local_endpoint();
}

}  // namespace hush::net
