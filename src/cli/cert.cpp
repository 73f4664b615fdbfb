#include <iostream>
#include <memory>
#include <stdexcept>
#include <sys/stat.h>

#include "app/club_ca.hpp"
#include "app/club_dir.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/terminal.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "pki/pki.hpp"

namespace hush::cli {
namespace {

struct renew_options {
  std::string dir;
  int days = pki::max_server_validity_days;
};

void run_renew(const renew_options& options) {
  const auto paths = club_dir(options.dir);
  auto club = app::open_club(paths);
  const auto ca = app::read_ca(paths);
  // The key is read only to be sure it is still a private file of ours before it is replaced.
  files::read_secret(paths.server_key());
  const auto current_pem = files::read_text(paths.server_cert());
  const auto current = pki::inspect_cert(current_pem);
  if (current.hosts.empty()) {
    throw std::runtime_error(paths.server_cert().string() + ": names no host to renew for");
  }
  const auto now = club->clock.now_seconds();
  // A club made before certificates were recorded has its server certificate unrecorded: record
  // it now (if the CA issued it) so that it can be revoked below.
  if (pki::issued_by(current_pem, ca.cert_pem)) {
    if (auto added = club->domain->record_server_cert({current.serial, store::cert_kind::server,
                                                       app::join_hosts(current.hosts),
                                                       current.not_before, current.not_after, 0});
        !added && added.error() != errc::already_exists) {
      throw std::runtime_error(explain(added.error(), "certificate " + current.serial));
    }
  }
  // Same hosts and CRL URL, a fresh key and serial.
  const auto renewed = pki::issue_server(ca, current.hosts, options.days, current.crl_url);
  app::record_server_cert(*club->domain, store::cert_kind::server, renewed.cert_pem, now);
  constexpr mode_t private_file = 0600;
  constexpr mode_t public_file = 0644;
  // Each file is replaced atomically. The key goes first and the certificate last, so that a
  // server watching server.pem sees the new certificate only once its key is in place.
  files::replace(paths.server_key(), renewed.key_pem.view(), private_file);
  files::replace(paths.server_cert(), renewed.cert_pem, public_file);
  // The old certificate is revoked once the new one is in place: its key may be on a disk or a
  // backup that outlives it, and must not let anyone pass as the club for the rest of its term.
  if (auto revoked = club->domain->revoke_cert(current.serial);
      !revoked && revoked.error() != errc::not_found) {
    throw std::runtime_error(explain(revoked.error(), "certificate " + current.serial));
  }
  const auto info = pki::inspect_cert(renewed.cert_pem);
  std::cout << "Renewed " << paths.server_cert().string() << ": serial " << info.serial
            << ", hosts " << app::join_hosts(info.hosts) << ", expires "
            << format_utc(info.not_after) << "; the old serial " << current.serial
            << " is revoked\n";
}

}  // namespace

void add_cert(CLI::App& app) {
  auto* group = app.add_subcommand("cert", "The server's certificate");
  group->require_subcommand(1);

  auto renew = std::make_shared<renew_options>();
  auto* renew_cmd = group->add_subcommand(
      "renew", "Re-issue server.pem and server.key for the same hosts, with a fresh key");
  add_dir_option(*renew_cmd, renew->dir);
  renew_cmd
      ->add_option("--days", renew->days,
                   "Validity in days (default and most " +
                       std::to_string(pki::max_server_validity_days) + ")")
      ->check(CLI::Range(1, pki::max_server_validity_days));
  renew_cmd->callback([renew] { run_renew(*renew); });
}

}  // namespace hush::cli
