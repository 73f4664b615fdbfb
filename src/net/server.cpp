#include "net/server.hpp"

#include <csignal>
#include <stdexcept>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/log.hpp"
#include "net/session.hpp"

namespace hush::net {
namespace {

namespace asio = boost::asio;

// How often shutdown looks whether requests in flight have finished.
constexpr auto drain_poll_interval = std::chrono::milliseconds(20);

unsigned cores() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

std::vector<std::unique_ptr<asio::io_context>> make_io(unsigned threads) {
  std::vector<std::unique_ptr<asio::io_context>> io;
  for (unsigned i = 0; i < (threads == 0 ? cores() : threads); ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so Asio can skip locking.
    io.push_back(std::make_unique<asio::io_context>(1));
  }
  return io;
}

asio::ip::tcp::endpoint resolve(const config::listen_address& listen) {
  boost::system::error_code ec;
  const auto address =
      asio::ip::make_address(listen.host == "localhost" ? "127.0.0.1" : listen.host, ec);
  if (ec) {
    throw std::runtime_error("listen address \"" + listen.host + "\" is not an IP address");
  }
  return {address, listen.port};
}

}  // namespace

server::server(const config::config& cfg, tls_context_holder& tls, request_handler handler,
               store::audit_batcher& audits)
    : cfg_(cfg),
      io_(make_io(cfg.io_threads)),
      workers_(cfg.worker_threads == 0 ? 2 * cores() : cfg.worker_threads),
      hashing_(cfg.argon2_threads == 0 ? cores() : cfg.argon2_threads),
      connections_(
          {cfg.max_connections, cfg.max_connections_per_address, cfg.max_connections_per_network}),
      state_{cfg, tls, std::move(handler), workers_, hashing_, connections_, audits},
      acceptor_(*io_.front()),
      signals_(*io_.front(), SIGINT, SIGTERM),
      hangup_(*io_.front(), SIGHUP),
      drain_timer_(*io_.front()) {
  const auto endpoint = resolve(cfg.listen);
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor_.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    throw std::runtime_error("cannot listen on " + cfg.listen.host + ":" +
                             std::to_string(cfg.listen.port) + ": " + ec.message());
  }
}

server::~server() {
  workers_.join();
  hashing_.join();
}

asio::ip::tcp::endpoint server::local_endpoint() const {
  return acceptor_.local_endpoint();
}

void server::do_accept() {
  auto& io = *io_[next_io_];
  next_io_ = (next_io_ + 1) % io_.size();
  acceptor_.async_accept(io, [this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
      return;
    }
    if (!ec) {
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      start_session(std::move(socket), state_);
    } else {
      // Out of file descriptors, say: back off is built into the next accept's latency.
      log::warn("accept failed: " + ec.message());
    }
    do_accept();
  });
}

void server::begin_shutdown() {
  log::info("shutting down: finishing requests in flight");
  state_.stopping.store(true);
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  wait_for_drain(std::chrono::steady_clock::now() + cfg_.shutdown_grace);
}

void server::wait_for_drain(std::chrono::steady_clock::time_point deadline) {
  if (state_.in_flight.load() == 0 || std::chrono::steady_clock::now() >= deadline) {
    for (auto& io : io_) {
      io->stop();
    }
    return;
  }
  drain_timer_.expires_after(drain_poll_interval);
  drain_timer_.async_wait(
      [this, deadline](boost::system::error_code) { wait_for_drain(deadline); });
}

void server::wait_for_hangup() {
  hangup_.async_wait([this](boost::system::error_code ec, int) {
    if (ec || state_.stopping) {
      return;
    }
    if (on_hangup_) {
      // Reading files is disk work: not on an I/O thread.
      asio::post(workers_, on_hangup_);
    }
    wait_for_hangup();
  });
}

void server::run() {
  signals_.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) {
      hangup_.cancel();
      begin_shutdown();
    }
  });
  wait_for_hangup();
  do_accept();

  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& io : io_) {
    guards.push_back(asio::make_work_guard(*io));
  }
  for (std::size_t i = 1; i < io_.size(); ++i) {
    threads.emplace_back([&io = *io_[i]] { io.run(); });
  }
  io_.front()->run();
  for (auto& thread : threads) {
    thread.join();
  }
  workers_.stop();
  workers_.join();
  hashing_.stop();
  hashing_.join();
}

}  // namespace hush::net
