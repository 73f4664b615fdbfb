#pragma once

#include <functional>
#include <mutex>

#include "app/club_dir.hpp"
#include "club/certificate_authority.hpp"

namespace hush::app {

// The club CA as the serving process sees it: without its key. A memory disclosure in the
// server (the process that talks to the network) must not be able to give the CA key away, so
// the server never reads ca.key. When a use case revokes certificates (a member removed through
// the API), the revocation list is rewritten by a child process, `hush ca crl` (this same
// binary), which reads the key, signs the list and exits; `on_published` then runs (the server
// reloads the list at once). The child needs neither the master key nor its passphrase
// (publish_crl), so a server whose master key is sealed republishes too. Issuing is refused
// (forbidden): certificates come from the CLI.
//
// Why not a delegated CRL-signing key: a CRL signed by any key but the CA's own is an indirect
// CRL, which OpenSSL checks only with extended CRL support turned on and curl, Python and
// browsers do not check at all, so the served list would be refused by the very clients it is
// for.
class spawned_ca final : public club::certificate_authority {
 public:
  explicit spawned_ca(club_paths paths) : paths_(std::move(paths)) {}

  void on_published(std::function<void()> callback) { on_published_ = std::move(callback); }

  result<club::issued_certificate> issue_client(std::string_view member, int days) override;
  // Runs `hush ca crl --dir DIR` and waits for it; io_failure if it fails (its own message,
  // on the server's standard error, says why).
  result<void> publish_revocations(int days) override;

 private:
  club_paths paths_;
  std::function<void()> on_published_;
  std::mutex mutex_;  // one child at a time
};

}  // namespace hush::app
