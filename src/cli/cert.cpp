#include <algorithm>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "app/club_ca.hpp"
#include "app/club_dir.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/terminal.hpp"
#include "cli/usage.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "pki/pki.hpp"

namespace hush::cli {
namespace {

struct renew_options {
  std::string dir;
  int days = pki::max_server_validity_days;
  std::vector<std::string> add_hosts;
  std::vector<std::string> drop_hosts;
};

// The current hosts, less the dropped, plus the added (in order, each once). Throws usage_error
// for a host to drop that the certificate does not name, or when none would be left.
std::vector<std::string> renewed_hosts(std::vector<std::string> hosts,
                                       const renew_options& options) {
  for (const auto& drop : options.drop_hosts) {
    const auto found = std::find(hosts.begin(), hosts.end(), drop);
    if (found == hosts.end()) {
      throw usage_error("--drop-host " + drop +
                        ": the server certificate does not name it (it "
                        "names " +
                        app::join_hosts(hosts) + ")");
    }
    hosts.erase(found);
  }
  for (const auto& add : options.add_hosts) {
    if (std::find(hosts.begin(), hosts.end(), add) == hosts.end()) {
      hosts.push_back(add);
    }
  }
  if (hosts.empty()) {
    throw usage_error("the server certificate must name at least one host");
  }
  return hosts;
}

// A host the CA may not vouch for: nothing is issued, and the line says how to widen the CA.
void refuse_outside(const pki::key_and_cert& ca, const std::vector<std::string>& hosts) {
  const auto outside = pki::hosts_outside(ca.cert_pem, hosts);
  if (outside.empty()) {
    return;
  }
  throw std::runtime_error(
      "\"" + outside.front() + "\" is outside the names the club CA may vouch for (" +
      app::join_hosts(pki::inspect_cert(ca.cert_pem).permitted) +
      "); widening them takes a new CA, which every member imports again and which reissues "
      "members' certificates: see docs/operations.md, \"Moving to a new CA\"");
}

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
  // The same hosts unless told otherwise; the CRL URL from the config, else the current one; a
  // fresh key and serial.
  const auto hosts = renewed_hosts(current.hosts, options);
  refuse_outside(ca, hosts);
  const auto crl_url = club->cfg.crl_url.empty() ? current.crl_url : club->cfg.crl_url;
  const auto renewed = pki::issue_server(ca, hosts, options.days, crl_url);
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
      "renew",
      "Re-issue server.pem and server.key with a fresh key, for the same hosts unless --host or "
      "--drop-host changes them");
  add_dir_option(*renew_cmd, renew->dir);
  renew_cmd
      ->add_option("--days", renew->days,
                   "Validity in days (default and most " +
                       std::to_string(pki::max_server_validity_days) + ")")
      ->check(CLI::Range(1, pki::max_server_validity_days));
  renew_cmd->add_option("--host", renew->add_hosts,
                        "Add a host name or IP address (repeatable); it must be within the club "
                        "CA's name constraints");
  renew_cmd->add_option("--drop-host", renew->drop_hosts,
                        "Remove a host name or IP address the certificate names (repeatable)");
  renew_cmd->callback([renew] { run_renew(*renew); });
}

}  // namespace hush::cli
