#include "net/server.hpp"

#include "http/router.hpp"
#include "net/engine.hpp"

namespace hush::net {

struct server::parts {
  parts(const config::config& cfg, tls_context_holder& tls, club::club& domain,
        auth::authenticator& auth, const http::published_bytes* crl)
      : router(http::services{domain, auth, cfg, crl}),
        engine(
            cfg, tls,
            [this](const http::request& req, const http::request_context& ctx) {
              return router.route(req, ctx);
            },
            domain) {}

  http::router router;
  net::engine engine;
};

server::server(const config::config& cfg, tls_context_holder& tls, club::club& domain,
               auth::authenticator& auth, const http::published_bytes* crl)
    : parts_(std::make_unique<parts>(cfg, tls, domain, auth, crl)) {}

server::~server() = default;

void server::on_hangup(std::function<void()> reload) {
  parts_->engine.on_hangup(std::move(reload));
}

boost::asio::ip::tcp::endpoint server::local_endpoint() const {
  return parts_->engine.local_endpoint();
}

void server::run() {
  parts_->engine.run();
}

}  // namespace hush::net
