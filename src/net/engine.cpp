#include "net/engine.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <malloc.h>
#include <stdexcept>
#include <unistd.h>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/log.hpp"
#include "net/session.hpp"

namespace hush::net {
namespace {

namespace asio = boost::asio;

// How often shutdown looks whether requests in flight have finished.
constexpr auto drain_poll_interval = std::chrono::milliseconds(20);
// glibc keeps the memory that closed connections freed for reuse, and their blocks are scattered
// among live ones, so after a flood closes (10,000 half-finished handshakes left 380 MB behind,
// bench/run) the process keeps its peak. Once this many connections have closed since the last
// look, the free pages are handed back (malloc_trim); steady traffic never gets there between
// two looks, so memory that is about to be reused stays; nor is less than trim_at_least_free kept
// free (1,000 idle connections leave about 16 MiB, which the next ones reuse).
constexpr std::size_t trim_after_closing = 512;
constexpr std::size_t trim_at_least_free = std::size_t{64} << 20;
// A client that opens and closes 512 connections over and over must not make the server trim
// (each trim locks every arena in turn) every look: at most one a minute.
constexpr auto trim_at_most_every = std::chrono::seconds(60);
constexpr auto trim_look_interval = std::chrono::seconds(2);

// Out of descriptors (or kernel memory), accepting again at once would fail again at once: the
// acceptor pauses, first briefly, then doubling up to a second, until an accept succeeds.
constexpr auto first_accept_pause = std::chrono::milliseconds(10);
constexpr auto longest_accept_pause = std::chrono::milliseconds(1000);

// Failures that last until something else lets go of a resource; any other accept failure is
// about the one connection (it reset, say) and the next accept may well succeed.
bool is_resource_exhaustion(const boost::system::error_code& ec) {
  return ec.category() == boost::system::system_category() &&
         (ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == ENOBUFS ||
          ec.value() == ENOMEM);
}

bool is_out_of_descriptors(const boost::system::error_code& ec) {
  return ec.category() == boost::system::system_category() &&
         (ec.value() == EMFILE || ec.value() == ENFILE);
}

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

}  // namespace

asio::ip::tcp::endpoint endpoint_of(const config::listen_address& listen, std::string_view what) {
  boost::system::error_code ec;
  const auto address =
      asio::ip::make_address(listen.host == "localhost" ? "127.0.0.1" : listen.host, ec);
  if (ec) {
    throw std::runtime_error(std::string(what) + " \"" + listen.host + "\" is not an IP address");
  }
  return {address, listen.port};
}

void listen_on(asio::ip::tcp::acceptor& acceptor, const config::listen_address& address,
               const std::string& prefix) {
  const auto endpoint = endpoint_of(address, prefix + "listen address");
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec && endpoint.address().is_v6()) {
    acceptor.set_option(asio::ip::v6_only(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    throw std::runtime_error(
        prefix + "cannot listen on " + config::format_listen(address) + ": " + ec.message() +
        (ec == asio::error::access_denied
             ? "; binding :" + std::to_string(address.port) +
                   " needs root or CAP_NET_BIND_SERVICE (or use a port from 1024 up)"
             : std::string()));
  }
}

engine::engine(const config::config& cfg, tls_context_holder& tls, request_handler handler,
               memory_handler from_memory, club::club& domain)
    : cfg_(cfg),
      connections_(
          {cfg.max_connections, cfg.max_connections_per_address, cfg.max_connections_per_network}),
      io_(make_io(cfg.io_threads)),
      workers_(cfg.worker_threads == 0 ? 2 * cores() : cfg.worker_threads),
      hashing_(cfg.argon2_threads == 0 ? cores() : cfg.argon2_threads),
      state_{cfg,      tls,      std::move(handler), std::move(from_memory),
             workers_, hashing_, connections_,       domain},
      signals_(*io_.front(), SIGINT, SIGTERM),
      hangup_(*io_.front(), SIGHUP),
      drain_timer_(*io_.front()),
      trim_timer_(*io_.front()) {
  for (const auto& address : cfg.listen) {
    listen_on(address);
  }
}

void engine::listen_on(const config::listen_address& address) {
  auto& l = *listeners_.emplace_back(std::make_unique<listener>(*io_.front()));
  net::listen_on(l.acceptor, address, "");
  boost::system::error_code ec;
  // refuse_one accepts synchronously: it must never block the thread.
  l.acceptor.non_blocking(true, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + config::format_listen(address) + ": " +
                             ec.message());
  }
}

engine::~engine() {
  workers_.join();
  hashing_.join();
}

void reserve_descriptor::give_up() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool reserve_descriptor::take() noexcept {
  if (fd_ < 0) {
    fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  return fd_ >= 0;
}

std::vector<asio::ip::tcp::endpoint> engine::local_endpoints() const {
  std::vector<asio::ip::tcp::endpoint> out;
  for (const auto& l : listeners_) {
    out.push_back(l->acceptor.local_endpoint());
  }
  return out;
}

// Every acceptor runs on the first I/O context, so next_io_ needs no lock.
void engine::do_accept(listener& l) {
  auto& io = *io_[next_io_];
  next_io_ = (next_io_ + 1) % io_.size();
  l.acceptor.async_accept(io,
                          [this, &l](boost::system::error_code ec, asio::ip::tcp::socket socket) {
                            if (ec == asio::error::operation_aborted || !l.acceptor.is_open()) {
                              return;
                            }
                            if (ec) {
                              on_accept_failed(l, ec);
                              return;
                            }
                            l.accept_pause = {};
                            socket.set_option(asio::ip::tcp::no_delay(true), ec);
                            start_session(std::move(socket), state_);
                            do_accept(l);
                          });
}

// Accepting again at once after running out of descriptors is a busy loop: the connection stays
// in the backlog, the listening socket stays readable, every accept fails at once (and used to log
// a line each time). Instead: refuse the connection at the head of the backlog cleanly, pause,
// and log at most a line a second.
void engine::on_accept_failed(listener& l, const boost::system::error_code& ec) {
  if (!is_resource_exhaustion(ec)) {
    l.accept_log.write(log::level::warn, "accept failed: " + ec.message());
    do_accept(l);
    return;
  }
  if (is_out_of_descriptors(ec)) {
    refuse_one(l);
  }
  l.accept_pause = std::clamp(l.accept_pause * 2, first_accept_pause, longest_accept_pause);
  l.accept_log.write(log::level::warn, "accept failed: " + ec.message() + "; pausing accepts for " +
                                           std::to_string(l.accept_pause.count()) + " ms");
  l.accept_timer.expires_after(l.accept_pause);
  l.accept_timer.async_wait([this, &l](boost::system::error_code wait_ec) {
    if (!wait_ec && l.acceptor.is_open()) {
      do_accept(l);
    }
  });
}

// With the reserve descriptor given up for a moment there is room for one more: the connection
// at the head of the backlog is accepted and closed, so that its client learns at once.
void engine::refuse_one(listener& l) {
  reserve_.give_up();
  boost::system::error_code ec;
  asio::ip::tcp::socket refused(*io_.front());
  l.acceptor.accept(refused, ec);
  refused.close(ec);
  // If another thread took the descriptor meanwhile, the next failure tries again.
  reserve_.take();
}

void engine::begin_shutdown() {
  log::info("shutting down: finishing requests in flight");
  if (on_shutdown_) {
    on_shutdown_();
  }
  state_.stopping.store(true);
  for (auto& l : listeners_) {
    boost::system::error_code ignored;
    l->acceptor.close(ignored);
    l->accept_timer.cancel();
  }
  trim_timer_.cancel();
  wait_for_drain(std::chrono::steady_clock::now() + cfg_.shutdown_grace);
}

void engine::wait_for_drain(std::chrono::steady_clock::time_point deadline) {
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

void engine::return_memory_after_floods() {
  trim_timer_.expires_after(trim_look_interval);
  trim_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || state_.stopping) {
      return;
    }
    const auto seen = connections_.take_peak();
    const auto now = std::chrono::steady_clock::now();
    if (seen.peak >= seen.now + trim_after_closing &&
        (!last_trim_ || now - *last_trim_ >= trim_at_most_every)) {
      last_trim_ = now;
      // It walks every arena under its lock: not on an I/O thread.
      asio::post(workers_, [] {
        if (::mallinfo2().fordblks >= trim_at_least_free) {
          ::malloc_trim(0);
        }
      });
    }
    return_memory_after_floods();
  });
}

void engine::wait_for_hangup() {
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

void engine::run() {
  signals_.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) {
      hangup_.cancel();
      begin_shutdown();
    }
  });
  wait_for_hangup();
  return_memory_after_floods();
  for (auto& l : listeners_) {
    do_accept(*l);
  }

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
  // An audit still being committed calls back into a session, which hands over to its I/O
  // thread's inbox or (a stale read from memory) posts to the workers: both stopped now, so the
  // work is dropped with them, but they must still exist when it is posted.
  state_.domain.flush_audits();
}

}  // namespace hush::net
