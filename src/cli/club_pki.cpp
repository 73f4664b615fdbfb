#include "cli/club_pki.hpp"

#include <iostream>
#include <stdexcept>
#include <sys/stat.h>
#include <vector>

#include "core/files.hpp"

namespace hush::cli {

pki::key_and_cert read_ca(const club_paths& paths) {
  files::require_private(paths.dir);
  const auto key = files::read_secret(paths.ca_key());
  return {secret_string(std::string(key.view())), files::read_text(paths.ca_cert())};
}

std::string club_crl_url(const club_paths& paths) {
  return pki::inspect_cert(files::read_text(paths.server_cert())).crl_url;
}

std::string join_hosts(const std::vector<std::string>& hosts) {
  std::string joined;
  for (const auto& host : hosts) {
    joined += (joined.empty() ? "" : ",") + host;
  }
  return joined;
}

void record_server_cert(store::store& store, store::cert_kind kind, const std::string& cert_pem,
                        std::int64_t issued_at) {
  const auto info = pki::inspect_cert(cert_pem);
  if (auto added = store.add_server_cert(
          {info.serial, kind, join_hosts(info.hosts), issued_at, info.not_after, 0});
      !added) {
    throw std::runtime_error(explain(added.error(), "certificate " + info.serial));
  }
}

void rewrite_crl(store::store& store, const club_paths& paths, const pki::key_and_cert& ca,
                 int days) {
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
    throw std::runtime_error(explain(number.error(), "CRL number"));
  }
  constexpr mode_t public_file = 0644;
  files::replace(paths.ca_crl(), pki::make_crl_der(ca, days, *number, entries), public_file);
}

std::string revoke_and_publish(store::store& store, const club_paths& paths,
                               const std::string& serial_text, std::int64_t at) {
  const auto serial = pki::canonical_serial(serial_text);
  if (serial.empty()) {
    throw std::runtime_error("\"" + serial_text + "\" is not a certificate serial (hex)");
  }
  const auto ca = read_ca(paths);
  if (auto revoked = store.revoke_cert(serial, at); !revoked) {
    throw std::runtime_error(explain(revoked.error(), "certificate " + serial));
  }
  rewrite_crl(store, paths, ca);
  return serial;
}

void revoke_certificate(const std::string& dir, const std::string& serial_text) {
  const auto paths = resolve_dir(dir);
  auto club = open_club(paths);
  const auto serial =
      revoke_and_publish(*club->store, paths, serial_text, club->clock.now_seconds());
  std::cout << "Revoked certificate " << serial << "; " << paths.ca_crl().string()
            << " rewritten\n";
}

}  // namespace hush::cli
