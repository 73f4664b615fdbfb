#include <cerrno>
#include <cstdio>
#include <exception>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include "app/club_ca.hpp"
#include "app/club_dir.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/terminal.hpp"
#include "cli/usage.hpp"
#include "config/config.hpp"
#include "core/files.hpp"
#include "crypto/envelope.hpp"
#include "crypto/random.hpp"
#include "pki/pki.hpp"

namespace hush::cli {
namespace {

namespace fs = std::filesystem;

constexpr mode_t private_dir = 0700;
constexpr mode_t private_file = 0600;
constexpr mode_t public_file = 0644;
constexpr const char* first_member = "admin";
// Names the club, not the software: a certificate must not tell a scanner what serves it.
constexpr const char* ca_common_name = "Club CA";
// Where the server publishes the CA's revocation list (http::crl_path).
constexpr const char* crl_path = "/ca.crl";

struct init_options {
  std::string dir;
  std::vector<std::string> hosts;
  std::string store;
};

// The defaults file with store.url set: a TOML basic string (the URL has no control characters,
// valid_store_url saw to that).
std::string config_with_store(const std::string& url) {
  auto text = config::default_toml();
  const std::string empty = "\n[store]\n";
  const auto table = text.find(empty);
  const auto key =
      table == std::string::npos ? std::string::npos : text.find("\nurl = \"\"", table);
  if (key == std::string::npos) {
    throw std::logic_error("the defaults file has no [store] url");
  }
  std::string quoted = "\nurl = \"";
  for (const char c : url) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
    }
    quoted += c;
  }
  quoted += '"';
  return text.replace(key, std::string("\nurl = \"\"").size(), quoted);
}

// True when `dir` is an empty directory to fill in place; false when it does not exist. Throws
// when it is anything else.
bool refuse_existing(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(dir, ec))) {
    if (!fs::is_directory(fs::symlink_status(dir, ec)) || !fs::is_empty(dir)) {
      throw std::runtime_error(dir.string() + " already exists; refusing to touch it");
    }
    return true;
  }
  return false;
}

// Moves every entry of the finished club up into the empty directory it was made in, never over
// an entry already there (a concurrent init into the same directory fails here, not silently).
void fill_in_place(const fs::path& scratch, const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(scratch)) {
    const auto to = dir / entry.path().filename();
    if (::renameat2(AT_FDCWD, entry.path().c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
      throw std::runtime_error(to.string() +
                               ": cannot create club: " + std::generic_category().message(errno));
    }
  }
  fs::remove(scratch);
}

void run_init(const init_options& options) {
  const auto target = club_dir(options.dir);
  const bool in_place = refuse_existing(target.dir);

  // Everything is made in a sibling directory and renamed into place at the end, so a failure
  // leaves no half-made club behind and a concurrent init cannot interleave with this one. An
  // empty directory already there (systemd's StateDirectory=, /var/lib/hush, in a parent the
  // club's user may not write) is filled in place: the scratch directory is made inside it and
  // its entries moved up at the end.
  const fs::path parent = fs::absolute(target.dir).parent_path();
  fs::create_directories(parent);
  const fs::path scratch_path =
      in_place
          ? fs::absolute(target.dir) / (".init-" + std::to_string(::getpid()))
          : parent / ("." + target.dir.filename().string() + ".init-" + std::to_string(::getpid()));
  if (::mkdir(scratch_path.c_str(), private_dir) != 0 ||
      ::chmod(scratch_path.c_str(), private_dir)) {
    throw std::runtime_error(scratch_path.string() + ": cannot create directory");
  }
  files::scratch scratch(scratch_path);
  const app::club_paths paths{scratch.path()};

  std::vector<std::string> hosts = pki::default_server_hosts();
  hosts.insert(hosts.end(), options.hosts.begin(), options.hosts.end());
  // The CA may vouch for the club's own hosts and nothing else (nameConstraints), so that a member
  // who imports ca.pem into a browser trusts it for the club alone. Widening it later means a new
  // CA (docs/operations.md, "Moving to a new CA").
  const auto ca = pki::make_ca(ca_common_name, hosts);
  // The server publishes the CRL itself, at the address members reach it by: the first --host,
  // else localhost, on the default port.
  const std::string crl_host = options.hosts.empty() ? "localhost" : options.hosts.front();
  const auto crl_url = "https://" +
                       (crl_host.find(':') != std::string::npos ? "[" + crl_host + "]" : crl_host) +
                       ":" + std::to_string(config::default_port) + crl_path;
  const auto server = pki::issue_server(ca, hosts, pki::max_server_validity_days, crl_url);

  files::write_new(paths.ca_key(), ca.key_pem.view(), private_file);
  files::write_new(paths.ca_cert(), ca.cert_pem, public_file);
  files::write_new(paths.server_key(), server.key_pem.view(), private_file);
  files::write_new(paths.server_cert(), server.cert_pem, public_file);
  const auto master = crypto::random_bytes(crypto::envelope::key_size);
  files::write_new(paths.master_key(), master.view(), private_file);
  if (options.store.empty()) {
    files::write_new(paths.config(), config::default_toml(), private_file);
    files::write_new(paths.database(), "", private_file);
  } else {
    // The club's data in PostgreSQL: keys and certificates stay in files here, and every
    // instance gets a copy of this directory (docs/scaling.md).
    files::write_new(paths.config(), config_with_store(options.store), private_file);
    const auto db = app::open_store(paths, config::load(paths.config()));
    app::require_empty_store(*db);
  }

  const auto password = crypto::random_password();
  // With --store, what is below writes to a database that outlives this scratch directory and
  // its master key: cut short, it leaves a club no key opens, which the admin must drop.
  struct partial_store_warning {
    explicit partial_store_warning(bool arm) : armed(arm) {}
    bool armed;
    ~partial_store_warning() {
      if (armed && std::uncaught_exceptions() > 0) {
        std::cerr << "hush: the database given to --store now holds part of a club that no key "
                     "opens: drop it and create it again before another hush init\n";
      }
    }
    partial_store_warning(const partial_store_warning&) = delete;
    partial_store_warning& operator=(const partial_store_warning&) = delete;
  } warning(!options.store.empty());
  {
    auto club = app::open_club(paths);
    if (auto key = club->keys->add_data_key(club->clock.now_seconds()); !key) {
      throw std::runtime_error(explain(key.error(), "data key"));
    }
    if (auto added = club->domain->add_member(first_member, store::role::admin, password.view());
        !added) {
      throw std::runtime_error(explain(added.error(), std::string("member ") + first_member));
    }
    // The server certificate is recorded like every other the CA issues, so that it can be
    // revoked; the first CRL takes its number from the store's counter.
    app::record_server_cert(*club->domain, store::cert_kind::server, server.cert_pem,
                            club->clock.now_seconds());
    if (auto published = club->domain->publish_revocations(); !published) {
      throw std::runtime_error(paths.ca_crl().string() + ": cannot write the first CRL");
    }
  }

  warning.armed = false;
  if (in_place) {
    if (::chmod(target.dir.c_str(), private_dir) != 0) {
      throw std::runtime_error(target.dir.string() + ": cannot make it private (0700)");
    }
    fill_in_place(scratch.path(), target.dir);
  } else {
    std::error_code ec;
    fs::rename(scratch.path(), target.dir, ec);
    if (ec) {
      throw std::runtime_error(target.dir.string() + ": cannot create club: " + ec.message());
    }
  }
  scratch.keep();

  const auto ca_path = fs::absolute(target.dir / "ca.pem").lexically_normal();
  std::cout << "Created a club in " << fs::absolute(target.dir).lexically_normal().string() << "\n"
            << "CA certificate for members (curl --cacert): " << ca_path.string() << "\n"
            << "Member \"" << first_member << "\" (admin), password shown once: " << password.view()
            << "\n";
}

}  // namespace

void add_init(CLI::App& app) {
  auto options = std::make_shared<init_options>();
  auto* cmd = app.add_subcommand("init", "Create a club: CA, server certificate, keys, database");
  add_dir_option(*cmd, options->dir);
  cmd->add_option("--host", options->hosts,
                  "Extra host name or IP address for the server certificate, and the only names "
                  "besides localhost, 127.0.0.1 and ::1 the club CA may vouch for (repeatable)");
  cmd->add_option("--store", options->store,
                  "Keep the club's data in PostgreSQL: a libpq URI or keyword=value string "
                  "naming an empty database (written to hush.toml as store.url; default: SQLite, "
                  "hush.db here)");
  cmd->callback([options] {
    if (!options->store.empty() && !config::valid_store_url(options->store)) {
      throw usage_error("--store must be a postgresql:// URI or a libpq keyword=value string");
    }
    run_init(*options);
  });
}

}  // namespace hush::cli
