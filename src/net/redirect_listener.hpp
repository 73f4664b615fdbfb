#pragma once

#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "config/config.hpp"
#include "http/challenge_tokens.hpp"

namespace hush::net {

// The most connections the redirect port holds at once; hush serve counts them in its budget of
// file descriptors.
inline constexpr std::size_t max_redirect_connections = 256;
// The most connections the metrics listener holds at once.
inline constexpr std::size_t max_metrics_connections = 16;

// server.redirect_http: plain HTTP (port 80, usually) that sends every request to the same host
// and path over HTTPS with a 301 and answers ACME HTTP-01 challenges from `challenges`; nothing
// else, never a secret or a login (http::answer_plain_http). Limits: a head of at most 4 KiB and
// no body, the request timeout for the whole exchange, at most max_redirect_connections
// connections (counted in the descriptor budget beside HTTPS's), capped per address and network
// as HTTPS connections are.
class redirect_listener {
 public:
  // Binds cfg.redirect_http (which must be set); throws std::runtime_error naming it if it
  // cannot. `https` are the HTTPS listeners' addresses: a redirect names port 443 when one of
  // them listens there, else the first one's port. `challenges` must outlive the listener.
  redirect_listener(const config::config& cfg,
                    const std::vector<boost::asio::ip::tcp::endpoint>& https,
                    const http::challenge_tokens& challenges);
  ~redirect_listener();
  redirect_listener(const redirect_listener&) = delete;
  redirect_listener& operator=(const redirect_listener&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hush::net
