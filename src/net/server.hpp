#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config/config.hpp"
#include "http/types.hpp"

namespace hush::net {

// Turns a request into a response. May block: the server calls it on the worker pool.
using request_handler =
    std::function<http::response(const http::request&, const http::request_context&)>;

// State every connection shares. Lives as long as the server.
struct shared_state {
  const config::config& cfg;
  boost::asio::ssl::context& tls;
  request_handler handler;
  boost::asio::thread_pool& workers;
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
};

// The HTTPS server: one io_context per I/O thread, each driven by exactly one thread, so a
// connection's handlers never run concurrently and need no strand; one acceptor hands new
// connections round-robin to them. Requests are handled on a separate worker pool, so Argon2 and
// disk never stall an I/O thread.
class server {
 public:
  // Binds and listens; throws std::runtime_error (naming the address) if it cannot.
  server(const config::config& cfg, boost::asio::ssl::context& tls, request_handler handler);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Serves until SIGINT or SIGTERM, then stops accepting, lets requests in flight finish (for up
  // to shutdown_grace) and returns.
  void run();

 private:
  void do_accept();
  void begin_shutdown();
  void wait_for_drain(std::chrono::steady_clock::time_point deadline);

  const config::config& cfg_;
  std::vector<std::unique_ptr<boost::asio::io_context>> io_;
  boost::asio::thread_pool workers_;
  shared_state state_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer drain_timer_;
  std::size_t next_io_ = 0;
};

}  // namespace hush::net
