#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "auth/authenticator.hpp"
#include "club/club.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "http/router.hpp"
#include "http/types.hpp"
#include "net/connection_limiter.hpp"
#include "net/tls.hpp"

namespace hush::net {

// Turns a request into a response, or into the Argon2id work it still needs (http::needs_hashing,
// to resume on the hashing pool). May block on disk: the server calls it on its worker pools,
// never on an I/O thread.
using request_handler =
    std::function<http::outcome(const http::request&, const http::request_context&)>;
// Answers, from memory alone, the requests it can (http::router::serve_from_view), on the I/O
// thread the request arrived on; nullopt sends the request to request_handler. Never blocks.
using memory_handler =
    std::function<std::optional<http::reply>(const http::request&, const http::request_context&)>;

// A descriptor held in reserve (on /dev/null) from startup. When the process has run out of
// descriptors it is given up for a moment, so that a connection the server cannot serve can still
// be accepted and closed at once instead of hanging in the backlog.
class reserve_descriptor {
 public:
  reserve_descriptor() { take(); }
  ~reserve_descriptor() { give_up(); }
  reserve_descriptor(const reserve_descriptor&) = delete;
  reserve_descriptor& operator=(const reserve_descriptor&) = delete;

  void give_up() noexcept;
  // Opens it again if it is not held; false if that failed (out of descriptors still).
  bool take() noexcept;

 private:
  int fd_ = -1;
};

// State every connection shares. Lives as long as the server.
struct shared_state {
  const config::config& cfg;
  tls_context_holder& tls;
  request_handler handler;
  memory_handler from_memory;  // may be empty
  boost::asio::thread_pool& workers;
  // Argon2id runs only here, so that guessing can take at most these threads, never the ones
  // that serve members whose credentials need no hash.
  boost::asio::thread_pool& hashing;
  connection_limiter& connections;
  // Commits the audit record a read owes before the body is written (club::commit_read).
  club::club& domain;
  std::atomic<std::size_t> hashing_queued{0};
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
};

// The HTTPS server's machinery (net::server is its face for the layers above, without Beast in
// sight): one io_context per I/O thread, each driven by exactly one thread, so a
// connection's handlers never run concurrently and need no strand; one acceptor hands new
// connections round-robin to them. Requests are handled on a worker pool, and the few that need
// Argon2id on a smaller, bounded hashing pool, so neither hashing nor disk stalls an I/O thread
// and guessing cannot starve members' requests.
class engine {
 public:
  // Binds and listens; throws std::runtime_error (naming the address) if it cannot.
  engine(const config::config& cfg, tls_context_holder& tls, request_handler handler,
         memory_handler from_memory, club::club& domain);

  // Called on a worker thread at each SIGHUP (for reloading certificates and the CRL).
  void on_hangup(std::function<void()> reload) { on_hangup_ = std::move(reload); }
  void on_shutdown(std::function<void()> begun) { on_shutdown_ = std::move(begun); }
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // The bound addresses, in the order of cfg.listen (a port 0 resolved to the one chosen).
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;

  // Serves until SIGINT or SIGTERM, then stops accepting, lets requests in flight finish (for up
  // to shutdown_grace) and returns.
  void run();

 private:
  // One listening socket and its own pause: a listener out of descriptors does not stop another
  // from trying.
  struct listener {
    explicit listener(boost::asio::io_context& io) : acceptor(io), accept_timer(io) {}
    boost::asio::ip::tcp::acceptor acceptor;
    // Out of descriptors, accepting pauses for this long, doubling while it lasts.
    boost::asio::steady_timer accept_timer;
    std::chrono::milliseconds accept_pause{0};
    log::rate_limited accept_log;
  };

  void listen_on(const config::listen_address& address);
  void do_accept(listener& l);
  void on_accept_failed(listener& l, const boost::system::error_code& ec);
  void refuse_one(listener& l);
  void wait_for_hangup();
  void return_memory_after_floods();
  void begin_shutdown();
  void wait_for_drain(std::chrono::steady_clock::time_point deadline);

  const config::config& cfg_;
  // Before the io_contexts: sessions still pending when those are destroyed give their place back
  // from their destructors.
  connection_limiter connections_;
  std::vector<std::unique_ptr<boost::asio::io_context>> io_;
  boost::asio::thread_pool workers_;
  boost::asio::thread_pool hashing_;
  shared_state state_;
  std::vector<std::unique_ptr<listener>> listeners_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set hangup_;
  std::function<void()> on_hangup_;
  std::function<void()> on_shutdown_;
  boost::asio::steady_timer drain_timer_;
  boost::asio::steady_timer trim_timer_;
  std::optional<std::chrono::steady_clock::time_point> last_trim_;  // the first I/O thread's only
  std::size_t next_io_ = 0;
  reserve_descriptor reserve_;
};

}  // namespace hush::net
