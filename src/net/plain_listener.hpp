#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "config/config.hpp"
#include "http/types.hpp"

namespace hush::net {

// How much a plain-HTTP listener gives one client: a head (no body is ever read), a deadline for
// the whole exchange, and caps on connections (see connection_limiter: a newcomer at a cap takes
// the place of the oldest connection still waiting for its head).
struct plain_limits {
  std::size_t max_head_bytes = 4096;
  std::chrono::seconds deadline{2};
  std::size_t max_connections = 16;
  std::size_t max_per_address = 16;
  std::size_t max_per_network = 16;
};

// A listener for plain HTTP, on a thread of its own so that it never takes an I/O thread from
// members: each connection gets one answer from `handler` (a pure function of the request head)
// and is closed. Nothing it serves may be secret: it is never TLS. Behind the metrics endpoint
// and the redirect to HTTPS.
class plain_listener {
 public:
  using handler = std::function<http::response(const http::request&)>;

  // Binds and listens; throws std::runtime_error starting with `what` and naming the address if
  // it cannot.
  plain_listener(const config::listen_address& where, std::string what, plain_limits limits,
                 handler answer);
  ~plain_listener();
  plain_listener(const plain_listener&) = delete;
  plain_listener& operator=(const plain_listener&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hush::net
