#pragma once

#include <string>
#include <vector>

namespace hush::app {

// What `hush serve` may override of the club's config.
struct serve_options {
  std::string dir;
  std::vector<std::string> listen;  // ADDR:PORT, each; empty: from the config
  std::string client_certs;         // off, optional or required; empty: from the config
  bool unseal_stdin = false;        // the sealed master key's passphrase is one line on stdin
};

// Opens the club, wires the server (TLS, the live reload of certificates and the CRL, the audit
// batcher and retention, the router) and serves until SIGINT or SIGTERM. Throws
// std::runtime_error with a one-line reason when it cannot start.
void serve(const serve_options& options);

}  // namespace hush::app
