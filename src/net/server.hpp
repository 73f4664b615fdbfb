#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "auth/authenticator.hpp"
#include "club/club.hpp"
#include "config/config.hpp"
#include "http/published_bytes.hpp"
#include "net/tls.hpp"

namespace hush::net {

class engine;

// The address to bind for a listen setting ("localhost" is 127.0.0.1; names are not resolved).
// Throws std::runtime_error starting with `what` when the host is not an IP address.
boost::asio::ip::tcp::endpoint endpoint_of(const config::listen_address& listen,
                                           std::string_view what);

// Opens, binds and listens `acceptor` on `address` (an IPv6 address IPv6-only, so that "[::]"
// and "0.0.0.0" can listen on the same port). Throws std::runtime_error, the message starting
// with `prefix` and naming the address, with a hint when a low port needs privilege.
void listen_on(boost::asio::ip::tcp::acceptor& acceptor, const config::listen_address& address,
               const std::string& prefix);

// The HTTPS server as the composition root sees it: the club's HTTP surface (http::router over
// the club, the authenticator and the published CRL) on the configured address. Beast stays
// behind this header (net::engine, the sessions), so that only the files that need it compile it.
class server {
 public:
  // Binds and listens; throws std::runtime_error (naming the address) if it cannot. Everything
  // given must outlive the server; `crl` may be null (no /ca.crl), `ca_cert` too (no /ca.pem).
  // `views` may be null: then every request is served from the store, on the workers.
  server(const config::config& cfg, tls_context_holder& tls, club::club& domain,
         auth::authenticator& auth, const http::published_bytes* crl,
         club::read_views* views = nullptr, const http::published_bytes* ca_cert = nullptr);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Called on a worker thread at each SIGHUP (for reloading certificates and the CRL).
  void on_hangup(std::function<void()> reload);
  // Called once, on an I/O thread, when SIGINT or SIGTERM begins the shutdown (before requests
  // in flight are drained); it must be quick and must not throw.
  void on_shutdown(std::function<void()> begun);
  // The bound HTTPS addresses, in the order of the config's listen list.
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;
  // Serves until SIGINT or SIGTERM, then stops accepting, lets requests in flight finish and
  // returns.
  void run();

 private:
  struct parts;
  std::unique_ptr<parts> parts_;
};

}  // namespace hush::net
