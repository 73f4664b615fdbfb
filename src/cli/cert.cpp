#include <iostream>
#include <memory>
#include <stdexcept>
#include <sys/stat.h>

#include "cli/club_dir.hpp"
#include "cli/club_pki.hpp"
#include "cli/commands.hpp"
#include "core/clock.hpp"
#include "core/files.hpp"
#include "pki/pki.hpp"

namespace hush::cli {
namespace {

struct renew_options {
  std::string dir;
  int days = pki::max_server_validity_days;
};

void run_renew(const renew_options& options) {
  const auto paths = resolve_dir(options.dir);
  const auto ca = read_ca(paths);
  files::require_private(paths.server_key());
  const auto current = pki::inspect_cert(files::read_text(paths.server_cert()));
  if (current.hosts.empty()) {
    throw std::runtime_error(paths.server_cert().string() + ": names no host to renew for");
  }
  // Same hosts and CRL URL, a fresh key and serial.
  const auto renewed = pki::issue_server(ca, current.hosts, options.days, current.crl_url);
  constexpr mode_t private_file = 0600;
  constexpr mode_t public_file = 0644;
  // Each file is replaced atomically. The key goes first and the certificate last, so that a
  // server watching server.pem sees the new certificate only once its key is in place.
  files::replace(paths.server_key(), renewed.key_pem, private_file);
  files::replace(paths.server_cert(), renewed.cert_pem, public_file);
  const auto info = pki::inspect_cert(renewed.cert_pem);
  std::string hosts;
  for (const auto& host : info.hosts) {
    hosts += (hosts.empty() ? "" : ",") + host;
  }
  std::cout << "Renewed " << paths.server_cert().string() << ": serial " << info.serial
            << ", hosts " << hosts << ", expires " << format_utc(info.not_after) << "\n";
}

}  // namespace

void add_cert(CLI::App& app) {
  auto* group = app.add_subcommand("cert", "The server's certificate");
  group->require_subcommand(1);

  auto renew = std::make_shared<renew_options>();
  auto* renew_cmd = group->add_subcommand(
      "renew", "Re-issue server.pem and server.key for the same hosts, with a fresh key");
  renew_cmd->add_option("--dir", renew->dir, "Club directory (default $HUSH_DIR or ./hush-data)");
  renew_cmd->add_option(
      "--days", renew->days,
      "Validity in days (default and most " + std::to_string(pki::max_server_validity_days) + ")");
  renew_cmd->callback([renew] { run_renew(*renew); });
}

}  // namespace hush::cli
