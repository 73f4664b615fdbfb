#include "app/club_ca.hpp"

#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "app/club_dir.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/log.hpp"

namespace hush::app {
namespace {

void rewrite_crl(store::store& store, const club_paths& paths, const pki::key_and_cert& ca,
                 int days) {
  // An exclusive lock on the club directory itself while one process publishes: no lock file to
  // leave behind, and the directory is there for as long as the club is.
  const auto lock = files::exclusive_lock::on_directory(paths.dir);
  auto revoked = store.list_revoked_certs();
  if (!revoked) {
    throw std::runtime_error("revoked certificates: " + revoked.error().message());
  }
  std::vector<pki::revoked_entry> entries;
  entries.reserve(revoked->size());
  for (const auto& r : *revoked) {
    entries.push_back({r.serial, r.revoked_at});
  }
  auto number = store.next_crl_number();
  if (!number) {
    throw std::runtime_error("CRL number: " + number.error().message());
  }
  constexpr mode_t public_file = 0644;
  files::replace(paths.ca_crl(), pki::make_crl_der(ca, days, *number, entries), public_file);
}

}  // namespace

pki::key_and_cert read_ca(const club_paths& paths) {
  files::require_private(paths.dir);
  const auto key = files::read_secret(paths.ca_key());
  return {secret_string(std::string(key.view())), files::read_text(paths.ca_cert())};
}

std::string club_crl_url(const club_paths& paths) {
  if (auto configured = config::load(paths.config()).crl_url; !configured.empty()) {
    return configured;
  }
  return pki::inspect_cert(files::read_text(paths.server_cert())).crl_url;
}

std::string join_hosts(const std::vector<std::string>& hosts) {
  std::string joined;
  for (const auto& host : hosts) {
    joined += (joined.empty() ? "" : ",") + host;
  }
  return joined;
}

void record_server_cert(club::club& domain, store::cert_kind kind, const std::string& cert_pem,
                        std::int64_t issued_at) {
  const auto info = pki::inspect_cert(cert_pem);
  if (auto added = domain.record_server_cert(
          {info.serial, kind, join_hosts(info.hosts), issued_at, info.not_after, 0});
      !added) {
    throw std::runtime_error("certificate " + info.serial + ": " + added.error().message());
  }
}

void publish_crl(const club_paths& paths, int days) {
  if (!std::filesystem::is_directory(paths.dir)) {
    throw std::runtime_error(paths.dir.string() + ": no club here (run hush init first)");
  }
  for (const auto& path : {paths.dir, paths.ca_key()}) {
    files::require_private(path);
  }
  // The club's log settings, as open_club applies them: a spawned child's errors join the
  // server's log in its format.
  const auto cfg = config::load(paths.config());
  log::set_level(log::parse_level(cfg.log_level).value_or(log::level::info));
  log::set_format(log::parse_format(cfg.log_format).value_or(log::format::text));
  const auto db = open_store(paths, cfg);
  rewrite_crl(*db, paths, read_ca(paths), days > 0 ? days : pki::crl_validity_days);
}

result<club::issued_certificate> local_ca::issue_client(std::string_view member, int days) {
  try {
    const auto ca = read_ca(paths_);
    auto leaf = pki::issue_client(ca, std::string(member), days, club_crl_url(paths_));
    const auto info = pki::inspect_cert(leaf.cert_pem);
    return club::issued_certificate{info.serial, info.not_after, std::move(leaf.cert_pem),
                                    std::move(leaf.key_pem)};
  } catch (const std::exception& e) {
    log::error(std::string("client certificate: ") + e.what());
    return make_error_code(errc::io_failure);
  }
}

result<void> local_ca::publish_revocations(int days) {
  try {
    rewrite_crl(store_, paths_, read_ca(paths_), days > 0 ? days : pki::crl_validity_days);
    return {};
  } catch (const std::exception& e) {
    log::error(paths_.ca_crl().string() + ": not rewritten: " + e.what());
    return make_error_code(errc::io_failure);
  }
}

}  // namespace hush::app
