#include "cli/club_pki.hpp"

#include <stdexcept>
#include <sys/stat.h>
#include <vector>

#include "core/files.hpp"

namespace hush::cli {

pki::key_and_cert read_ca(const club_paths& paths) {
  files::require_private(paths.dir);
  files::require_private(paths.ca_key());
  auto key = files::read_secret(paths.ca_key());
  pki::key_and_cert ca{std::string(key.view().begin(), key.view().end()),
                       files::read_text(paths.ca_cert())};
  return ca;
}

std::string club_crl_url(const club_paths& paths) {
  return pki::inspect_cert(files::read_text(paths.server_cert())).crl_url;
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
  constexpr mode_t public_file = 0644;
  files::replace(paths.ca_crl(), pki::make_crl_der(ca, days, entries), public_file);
}

}  // namespace hush::cli
