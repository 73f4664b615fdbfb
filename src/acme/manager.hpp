#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "acme/client.hpp"
#include "config/config.hpp"

namespace hush::acme {

// Where a club keeps what ACME gave it: <club>/acme/, 0700, with the account key and the
// certificate's key (both 0600) and the certificate chain.
struct acme_paths {
  std::filesystem::path dir;
  std::filesystem::path account_key() const { return dir / "account.key"; }
  std::filesystem::path certificate() const { return dir / "server.pem"; }
  std::filesystem::path key() const { return dir / "server.key"; }
  std::filesystem::path pending_certificate() const { return dir / "server.pem.new"; }
  std::filesystem::path pending_key() const { return dir / "server.key.new"; }
};

// True when `paths` hold a certificate chain and its key that cover every one of `hosts` and are
// still valid at `now` (Unix seconds). Never throws: a missing or broken file is false.
bool has_usable_certificate(const acme_paths& paths, const std::vector<std::string>& hosts,
                            std::int64_t now);

// The key and the certificate are one pair kept in two files. install_pair writes each whole
// beside its place (".new", 0600), then renames the key into place, then the certificate: a crash
// between the two renames leaves the new key beside the old certificate, with the new certificate
// still waiting, and complete_pending_pair (called before the files are read at start) puts it in
// place; a crash before the key's rename leaves the old pair, and the leftovers are removed.
// Both throw std::runtime_error naming the file.
void install_pair(const acme_paths& paths, std::string_view key_pem, std::string_view chain_pem);
void complete_pending_pair(const acme_paths& paths);

// When a certificate valid from `not_before` to `not_after` is renewed: at two thirds of its
// lifetime, less a jitter of up to a twentieth of it (`jitter` in [0, 1)), so that many servers
// given certificates at the same moment do not all come back at once.
std::int64_t renewal_time(std::int64_t not_before, std::int64_t not_after, double jitter);

// Keeps the server's certificate from the ACME CA: on a thread of its own, gets one when there is
// none usable for the hosts, then renews it at renewal_time; a failure (the CA down, a challenge
// that did not validate) is retried with a backoff from 3 s doubling to an hour. Each new
// certificate is written (install_pair) and `on_new_certificate` is called,
// which reloads the server's TLS context without dropping connections.
class certificate_manager {
 public:
  certificate_manager(config::acme_settings settings, acme_paths paths,
                      challenge_responder responder, std::function<void()> on_new_certificate);
  // Stops the thread (an order in flight is abandoned at its next wait) and joins it.
  ~certificate_manager();
  certificate_manager(const certificate_manager&) = delete;
  certificate_manager& operator=(const certificate_manager&) = delete;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hush::acme
