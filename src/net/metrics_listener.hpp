#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "config/config.hpp"

namespace hush::net {

// Prometheus's scrape endpoint, GET /metrics in the text format, on a listener of its own: plain
// HTTP (Prometheus scrapes without TLS by default), off unless [metrics] listen names an address,
// and meant for loopback or a private network, since it counts (but never names) what members do.
// One thread of its own, so a scrape never takes an I/O thread from members; at most a few
// connections at once, each with a short deadline.
class metrics_listener {
 public:
  // Binds and listens; throws std::runtime_error naming the address if it cannot. `render` makes
  // the page (metrics::render_all); it is called on the listener's thread.
  metrics_listener(const config::listen_address& where, std::function<std::string()> render);
  ~metrics_listener();
  metrics_listener(const metrics_listener&) = delete;
  metrics_listener& operator=(const metrics_listener&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hush::net
