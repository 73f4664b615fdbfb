#include "net/server.hpp"

#include "core/log.hpp"
#include "http/router.hpp"
#include "net/engine.hpp"

namespace hush::net {

struct server::parts {
  parts(const config::config& cfg, tls_context_holder& tls, club::club& domain,
        auth::authenticator& auth, const http::published_bytes* crl, club::read_views* views,
        const http::published_bytes* ca_cert)
      : router(http::services{domain, auth, cfg, crl, views, ca_cert}),
        engine(
            cfg, tls,
            [this, views](const http::request& req, const http::request_context& ctx) {
              // On a worker, where blocking on the store is allowed: the view a commit found
              // overtaken (or none yet) is read again here, so that the next reads are served
              // from memory again.
              if (views != nullptr && views->stale()) {
                if (auto refreshed = views->refresh(); !refreshed) {
                  log::debug("read view not refreshed: " + refreshed.error().message());
                }
              }
              return router.route(req, ctx);
            },
            views == nullptr ? memory_handler()
                             : memory_handler([this](const http::request& req,
                                                     const http::request_context& ctx) {
                                 return router.serve_from_view(req, ctx);
                               }),
            domain) {}

  http::router router;
  net::engine engine;
};

server::server(const config::config& cfg, tls_context_holder& tls, club::club& domain,
               auth::authenticator& auth, const http::published_bytes* crl, club::read_views* views,
               const http::published_bytes* ca_cert)
    : parts_(std::make_unique<parts>(cfg, tls, domain, auth, crl, views, ca_cert)) {}

server::~server() = default;

void server::on_hangup(std::function<void()> reload) {
  parts_->engine.on_hangup(std::move(reload));
}

void server::on_shutdown(std::function<void()> begun) {
  parts_->engine.on_shutdown(std::move(begun));
}

std::vector<boost::asio::ip::tcp::endpoint> server::local_endpoints() const {
  return parts_->engine.local_endpoints();
}

void server::run() {
  parts_->engine.run();
}

}  // namespace hush::net
