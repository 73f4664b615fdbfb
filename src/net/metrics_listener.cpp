#include "net/metrics_listener.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "core/log.hpp"
#include "net/server.hpp"

namespace hush::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// A scraper sends its request at once: a connection that has not in this long is not one.
constexpr auto scrape_deadline = std::chrono::seconds(2);
constexpr std::size_t max_scrape_connections = 16;
constexpr std::uint32_t max_scrape_head_bytes = 4096;

// One scrape: read a head (no body), answer it, close.
class scrape : public std::enable_shared_from_this<scrape> {
 public:
  scrape(asio::ip::tcp::socket socket, const std::function<std::string()>& render,
         std::atomic<std::size_t>& open)
      : stream_(std::move(socket)), render_(render), open_(open) {}
  ~scrape() { --open_; }
  scrape(const scrape&) = delete;
  scrape& operator=(const scrape&) = delete;

  void start() {
    parser_.header_limit(max_scrape_head_bytes);
    parser_.body_limit(0);
    stream_.expires_after(scrape_deadline);
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec) {
      return;
    }
    const auto& req = parser_.get();
    const bool head = req.method() == http::verb::head;
    response_.version(req.version());
    response_.keep_alive(false);
    response_.set(http::field::cache_control, "no-store");
    if (req.target() != "/metrics") {
      response_.result(http::status::not_found);
      response_.set(http::field::content_type, "text/plain; charset=utf-8");
      response_.body() = "not found\n";
    } else if (req.method() != http::verb::get && !head) {
      response_.result(http::status::method_not_allowed);
      response_.set(http::field::allow, "GET, HEAD");
      response_.set(http::field::content_type, "text/plain; charset=utf-8");
      response_.body() = "method not allowed\n";
    } else {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response_.body() = render_();
    }
    response_.prepare_payload();
    if (head) {
      response_.body().clear();  // Content-Length stays GET's
    }
    http::async_write(
        stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
          beast::error_code ignored;
          self->stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        });
  }

  beast::tcp_stream stream_;
  const std::function<std::string()>& render_;
  std::atomic<std::size_t>& open_;
  beast::flat_buffer buffer_{max_scrape_head_bytes};
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

struct metrics_listener::impl {
  impl(const config::listen_address& where, std::function<std::string()> render_page)
      : render(std::move(render_page)), acceptor(io) {
    const auto endpoint = endpoint_of(where, "metrics.listen:");
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) {
      acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor.bind(endpoint, ec);
    }
    if (!ec) {
      acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      throw std::runtime_error("cannot listen for metrics on " + where.host + ":" +
                               std::to_string(where.port) + ": " + ec.message());
    }
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
        if (open.fetch_add(1) >= max_scrape_connections) {
          --open;  // a scraper needs one connection; more is a flood, closed unanswered
        } else {
          std::make_shared<scrape>(std::move(socket), render, open)->start();
        }
      } else {
        static log::rate_limited accept_log;
        accept_log.write(log::level::warn, "metrics: accept failed: " + ec.message());
      }
      accept();
    });
  }

  std::function<std::string()> render;
  // Before io: scrapes still pending when io goes count themselves out of it from their
  // destructors.
  std::atomic<std::size_t> open{0};
  asio::io_context io{1};
  asio::ip::tcp::acceptor acceptor;
  std::thread thread;
};

metrics_listener::metrics_listener(const config::listen_address& where,
                                   std::function<std::string()> render)
    : impl_(std::make_unique<impl>(where, std::move(render))) {}

metrics_listener::~metrics_listener() = default;

boost::asio::ip::tcp::endpoint metrics_listener::local_endpoint() const {
  return impl_->acceptor.local_endpoint();
}

}  // namespace hush::net
