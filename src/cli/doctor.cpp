#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <vector>

#include "acme/manager.hpp"
#include "app/club_ca.hpp"
#include "app/club_dir.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/files.hpp"
#include "crypto/envelope.hpp"
#include "pki/pki.hpp"

namespace hush::cli {
namespace {

// A certificate or CRL that ends within this is worth a warning: time to renew.
constexpr std::int64_t expiry_warning_seconds = 30 * 24 * 60 * 60;
constexpr std::int64_t seconds_per_day = 24 * 60 * 60;

struct doctor_options {
  std::string dir;
};

// Prints one line per check and counts the failures.
class report {
 public:
  void ok(const std::string& what) { std::cout << "ok: " << what << "\n"; }
  void warn(const std::string& what) { std::cout << "warn: " << what << "\n"; }
  void fail(const std::string& what) {
    std::cout << "FAIL: " << what << "\n";
    ++failures_;
  }
  // Runs one check; an exception it throws is that check's failure, and the others still run.
  void check(const std::function<void()>& run) {
    try {
      run();
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }
  int failures() const { return failures_; }

 private:
  int failures_ = 0;
};

void check_expiry(report& r, const std::string& what, std::int64_t not_after, std::int64_t now) {
  if (not_after <= now) {
    r.fail(what + " expired at " + format_utc(not_after));
  } else if (not_after - now < expiry_warning_seconds) {
    r.warn(what + " expires at " + format_utc(not_after) + ", in " +
           std::to_string((not_after - now) / seconds_per_day) + " days");
  } else {
    r.ok(what + " valid until " + format_utc(not_after));
  }
}

// With [acme] on, the CA's certificate is the one served: it must match its key, cover every
// acme.hosts name and not be expired. Until the first arrives the club's own is served, which
// is worth a warning, not a failure.
void check_acme(report& r, const app::club_paths& paths, std::int64_t now) {
  const auto cfg = config::load(paths.config());
  if (!cfg.acme.enabled) {
    return;
  }
  const acme::acme_paths files_of{paths.dir / "acme"};
  if (!std::filesystem::exists(files_of.certificate())) {
    r.warn(files_of.certificate().string() +
           ": no ACME certificate yet; the club's own server.pem is served until it arrives");
    return;
  }
  for (const auto& path : {files_of.dir, files_of.account_key(), files_of.key()}) {
    files::require_private(path);
  }
  const auto chain = files::read_text(files_of.certificate());
  const auto info = pki::inspect_cert(chain);
  const auto key = files::read_secret(files_of.key());
  if (!pki::key_matches_cert(key.view(), chain)) {
    throw std::runtime_error(files_of.key().string() + ": does not match acme/server.pem");
  }
  for (const auto& host : cfg.acme.hosts) {
    if (std::find(info.hosts.begin(), info.hosts.end(), host) == info.hosts.end()) {
      throw std::runtime_error(files_of.certificate().string() + ": does not name " + host +
                               " (acme.hosts); hush serve orders a new one");
    }
  }
  r.ok("acme/server.pem: the ACME certificate for " + cfg.acme.hosts.front() +
       " matches its key; renewed by hush serve at two thirds of its lifetime");
  check_expiry(r, "ACME certificate", info.not_after, now);
}

void run_doctor(const doctor_options& options) {
  const auto paths = club_dir(options.dir);
  if (!std::filesystem::is_directory(paths.dir)) {
    throw std::runtime_error(paths.dir.string() + ": no club here (run hush init first)");
  }
  report r;
  const std::int64_t now = system_clock().now_seconds();

  // The master key's own file is checked below, wherever keys.master_key_file puts it.
  std::vector<std::filesystem::path> private_files{paths.dir, paths.ca_key(), paths.server_key(),
                                                   paths.config()};
  // A club in PostgreSQL (store.url) has no hush.db.
  if (std::filesystem::exists(paths.database())) {
    private_files.push_back(paths.database());
  }
  for (const auto& path : private_files) {
    r.check([&] {
      files::require_private(path);
      r.ok(path.string() + ": private");
    });
  }
  r.check([&] {
    config::load(paths.config());
    r.ok(paths.config().string() + ": parses and validates");
  });
  bool master_key_read = false;
  r.check([&] {
    const auto key_file = app::master_key_path(paths, config::load(paths.config()));
    const auto size = files::read_secret(key_file).size();
    if (app::is_sealed(key_file)) {
      master_key_read = true;
      r.ok(key_file.string() + ": private, sealed under a passphrase");
      return;
    }
    if (size != crypto::envelope::key_size) {
      throw std::runtime_error(key_file.string() + ": not a " +
                               std::to_string(crypto::envelope::key_size) + "-byte key");
    }
    master_key_read = true;
    r.ok(key_file.string() + ": private, a " + std::to_string(crypto::envelope::key_size) +
         "-byte key");
  });
  r.check([&] {
    for (const auto& passed : app::check_database(paths, master_key_read)) {
      r.ok(passed);
    }
  });

  // Each key is its own check: a key file refused (a link, open permissions) still lets the
  // certificate checks run.
  std::string ca_pem;
  r.check([&] {
    ca_pem = files::read_text(paths.ca_cert());
    const auto ca = pki::inspect_cert(ca_pem);
    if (!ca.is_ca) {
      throw std::runtime_error(paths.ca_cert().string() + ": not a CA certificate");
    }
    check_expiry(r, "CA certificate", ca.not_after, now);
    // A club made before hush constrained its CA: a member who imported ca.pem trusts it for
    // every site. Not a failure (it works as it always did), but worth moving off.
    if (ca.name_constrained) {
      r.ok("ca.pem may vouch only for " + app::join_hosts(ca.permitted) + " (nameConstraints)");
    } else {
      r.warn(paths.ca_cert().string() +
             ": the CA has no name constraints, so a browser that imports it trusts it for every "
             "site; see docs/operations.md, \"Moving to a new CA\"");
    }
  });
  r.check([&] {
    const auto key = files::read_secret(paths.ca_key());
    if (!pki::key_matches_cert(key.view(), ca_pem)) {
      throw std::runtime_error(paths.ca_key().string() + ": does not match ca.pem");
    }
    r.ok("ca.pem and ca.key match");
  });
  std::string server_pem;
  r.check([&] {
    server_pem = files::read_text(paths.server_cert());
    const auto server = pki::inspect_cert(server_pem);
    if (ca_pem.empty() || !pki::issued_by(server_pem, ca_pem)) {
      throw std::runtime_error(paths.server_cert().string() + ": not issued by the club CA");
    }
    r.ok("server.pem chains to ca.pem");
    check_expiry(r, "server certificate", server.not_after, now);
    if (app::recorded_revoked(paths, server.serial)) {
      throw std::runtime_error(paths.server_cert().string() + ": serial " + server.serial +
                               " is revoked (run hush cert renew)");
    }
  });
  r.check([&] {
    const auto key = files::read_secret(paths.server_key());
    if (!pki::key_matches_cert(key.view(), server_pem)) {
      throw std::runtime_error(paths.server_key().string() + ": does not match server.pem");
    }
    r.ok("server.pem and server.key match");
  });
  r.check([&] {
    if (!std::filesystem::exists(paths.ca_crl())) {
      throw std::runtime_error(paths.ca_crl().string() + ": missing (run hush ca crl)");
    }
    const auto crl = pki::inspect_crl(files::read_text(paths.ca_crl()), ca_pem);
    if (!crl.signed_by_ca) {
      throw std::runtime_error(paths.ca_crl().string() + ": not signed by the club CA");
    }
    r.ok("ca.crl is signed by the CA and lists " + std::to_string(crl.revoked) +
         " revoked certificate(s)");
    if (crl.next_update == 0) {
      throw std::runtime_error(paths.ca_crl().string() + ": has no next update time");
    }
    check_expiry(r, "CRL (run hush ca crl to renew)", crl.next_update, now);
  });

  r.check([&] { check_acme(r, paths, now); });

  if (r.failures() > 0) {
    throw std::runtime_error("doctor: " + std::to_string(r.failures()) + " check(s) failed");
  }
}

}  // namespace

void add_doctor(CLI::App& app) {
  auto options = std::make_shared<doctor_options>();
  auto* cmd = app.add_subcommand(
      "doctor", "Check a club: permissions, config, keys, certificates, CRL; exit 1 on a FAIL");
  add_dir_option(*cmd, options->dir);
  cmd->callback([options] { run_doctor(*options); });
}

}  // namespace hush::cli
