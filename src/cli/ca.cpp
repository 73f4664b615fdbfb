#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <sys/stat.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "app/club_ca.hpp"
#include "app/club_dir.hpp"
#include "cli/certificates.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/terminal.hpp"
#include "cli/usage.hpp"
#include "core/clock.hpp"
#include "core/files.hpp"
#include "pki/pki.hpp"

namespace hush::cli {
namespace {

struct crl_options {
  std::string dir;
  int days = pki::crl_validity_days;
};

struct revoke_options {
  std::string dir;
  std::string serial;
};

struct list_options {
  std::string dir;
  bool json = false;
};

struct sign_options {
  std::string dir;
  std::string csr;
  std::string out;
  int days = pki::max_server_validity_days;
};

void run_crl(const crl_options& options) {
  if (options.days < 1 || options.days > pki::crl_validity_days) {
    throw usage_error("--days must be 1 to " + std::to_string(pki::crl_validity_days) + ", not " +
                      std::to_string(options.days));
  }
  const auto paths = club_dir(options.dir);
  // Without the master key: a server with a sealed one runs this as its child.
  try {
    app::publish_crl(paths, options.days);
  } catch (const std::exception& e) {
    throw std::runtime_error(paths.ca_crl().string() + ": not rewritten: " + e.what());
  }
  const auto info =
      pki::inspect_crl(files::read_text(paths.ca_crl()), files::read_text(paths.ca_cert()));
  std::cout << "Wrote " << paths.ca_crl().string() << ": " << info.revoked
            << " revoked certificate(s), next update " << format_utc(info.next_update) << "\n";
}

void run_list(const list_options& options) {
  auto club = app::open_club(club_dir(options.dir));
  auto certs = club->domain->list_certs();
  if (!certs) {
    throw std::runtime_error(explain(certs.error(), "certificates"));
  }
  print_certificates(*certs, options.json);
}

void run_sign(const sign_options& options) {
  const auto paths = club_dir(options.dir);
  if (!options.out.empty()) {
    // Checked before anything is signed or recorded: never over a file.
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(options.out, ec))) {
      throw std::runtime_error(options.out + " already exists; refusing to overwrite it");
    }
  }
  auto club = app::open_club(paths);
  const auto ca = app::read_ca(paths);
  const std::string csr = options.csr == "-" ? read_stdin_all() : files::read_text(options.csr);
  const auto cert_pem = pki::sign_csr(ca, csr, options.days, app::club_crl_url(paths));
  // Recorded before the certificate leaves this command, so that it can be revoked.
  app::record_server_cert(*club->domain, store::cert_kind::csr, cert_pem,
                          club->clock.now_seconds());
  if (options.out.empty()) {
    std::cout << cert_pem;
    return;
  }
  constexpr mode_t public_file = 0644;
  files::write_new(options.out, cert_pem, public_file);
  const auto info = pki::inspect_cert(cert_pem);
  std::cout << "Signed " << options.out << ": serial " << info.serial << ", hosts "
            << app::join_hosts(info.hosts) << ", expires " << format_utc(info.not_after) << "\n";
}

}  // namespace

void print_certificates(const std::vector<store::issued_cert_record>& certs, bool json) {
  if (json) {
    boost::json::array items;
    for (const auto& c : certs) {
      boost::json::object item{{"serial", c.serial},
                               {"kind", store::to_string(c.kind)},
                               {"names", c.names},
                               {"issued", format_utc(c.issued_at)},
                               {"expires", format_utc(c.expires_at)}};
      if (c.revoked()) {
        item["revoked"] = format_utc(c.revoked_at);
      } else {
        item["revoked"] = nullptr;
      }
      items.push_back(std::move(item));
    }
    print_json({{"certificates", std::move(items)}});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  rows.reserve(certs.size());
  for (const auto& c : certs) {
    rows.push_back({c.serial, std::string(store::to_string(c.kind)), c.names,
                    format_utc(c.expires_at),
                    c.revoked() ? "revoked " + format_utc(c.revoked_at) : std::string("valid")});
  }
  print_table({"SERIAL", "KIND", "NAMES", "EXPIRES", "STATUS"}, rows);
}

void revoke_certificate(const std::string& dir, const std::string& serial_text) {
  const auto serial = pki::canonical_serial(serial_text);
  if (serial.empty()) {
    throw usage_error("\"" + serial_text + "\" is not a certificate serial (hex digits)");
  }
  const auto paths = club_dir(dir);
  auto club = app::open_club(paths);
  if (auto revoked = club->domain->revoke_cert(serial); !revoked) {
    throw std::runtime_error(explain(revoked.error(), "certificate " + serial));
  }
  std::cout << "Revoked certificate " << serial << "; " << paths.ca_crl().string()
            << " rewritten\n";
}

void add_ca(CLI::App& app) {
  auto* group =
      app.add_subcommand("ca", "The club CA: signing requests, revocation, the revocation list");
  group->require_subcommand(1);

  auto crl = std::make_shared<crl_options>();
  auto* crl_cmd =
      group->add_subcommand("crl", "Rewrite ca.crl (DER) listing every revoked certificate");
  add_dir_option(*crl_cmd, crl->dir);
  crl_cmd->add_option(
      "--days", crl->days,
      "Validity in days (default and most " + std::to_string(pki::crl_validity_days) + ")");
  crl_cmd->callback([crl] { run_crl(*crl); });

  auto revoke = std::make_shared<revoke_options>();
  auto* revoke_cmd = group->add_subcommand(
      "revoke",
      "Revoke any certificate the CA issued (member, server, signed CSR); rewrite ca.crl");
  add_dir_option(*revoke_cmd, revoke->dir);
  revoke_cmd->add_option("serial", revoke->serial, "The certificate's serial (hex)")->required();
  revoke_cmd->callback([revoke] { revoke_certificate(revoke->dir, revoke->serial); });

  auto list = std::make_shared<list_options>();
  auto* list_cmd = group->add_subcommand(
      "list", "List every certificate the CA issued: serial, kind, names, expiry, revocation");
  add_dir_option(*list_cmd, list->dir);
  add_json_flag(*list_cmd, list->json);
  list_cmd->callback([list] { run_list(*list); });

  auto sign = std::make_shared<sign_options>();
  auto* sign_cmd = group->add_subcommand(
      "sign", "Sign a CSR as a server certificate; only its host names are taken from it");
  add_dir_option(*sign_cmd, sign->dir);
  sign_cmd->add_option("csr", sign->csr, "CSR file (PEM), or - for standard input")->required();
  sign_cmd
      ->add_option("--days", sign->days,
                   "Validity in days (default and most " +
                       std::to_string(pki::max_server_validity_days) + ")")
      ->check(CLI::Range(1, pki::max_server_validity_days));
  sign_cmd->add_option("--out", sign->out,
                       "Write the certificate here (never over a file) instead of stdout");
  sign_cmd->callback([sign] { run_sign(*sign); });
}

}  // namespace hush::cli
