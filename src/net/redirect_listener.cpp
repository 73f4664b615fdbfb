#include "net/redirect_listener.hpp"

#include <algorithm>

#include "http/redirect.hpp"
#include "net/plain_listener.hpp"

namespace hush::net {
namespace {

constexpr std::uint16_t standard_https_port = 443;

constexpr std::size_t max_redirect_head_bytes = 4096;

std::uint16_t https_port_for(const std::vector<boost::asio::ip::tcp::endpoint>& https) {
  const bool on_standard = std::any_of(https.begin(), https.end(), [](const auto& endpoint) {
    return endpoint.port() == standard_https_port;
  });
  return on_standard || https.empty() ? standard_https_port : https.front().port();
}

}  // namespace

struct redirect_listener::impl {
  impl(const config::config& cfg, std::uint16_t https_port,
       const http::challenge_tokens& challenges)
      : listener(*cfg.redirect_http, "server.redirect_http",
                 {max_redirect_head_bytes, cfg.request_timeout,
                  std::min(cfg.max_connections, max_redirect_connections),
                  cfg.max_connections_per_address, cfg.max_connections_per_network},
                 [&challenges, https_port](const http::request& req) {
                   return http::answer_plain_http(req, challenges, https_port);
                 }) {}
  plain_listener listener;
};

redirect_listener::redirect_listener(const config::config& cfg,
                                     const std::vector<boost::asio::ip::tcp::endpoint>& https,
                                     const http::challenge_tokens& challenges)
    : impl_(std::make_unique<impl>(cfg, https_port_for(https), challenges)) {}

redirect_listener::~redirect_listener() = default;

boost::asio::ip::tcp::endpoint redirect_listener::local_endpoint() const {
  return impl_->listener.local_endpoint();
}

}  // namespace hush::net
