#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/club_dir.hpp"
#include "club/certificate_authority.hpp"
#include "club/club.hpp"
#include "pki/pki.hpp"
#include "store/store.hpp"

namespace hush::app {

// The club CA's key and certificate. Checks first that the directory is private, and reads
// ca.key as a private file (files::read_secret: no link, 0600, ours); throws std::runtime_error
// naming the file otherwise.
pki::key_and_cert read_ca(const club_paths& paths);

// The CRL URL the certificates the CA issues now name: `pki.crl_url` from the club's config when
// set, else the one in server.pem (which `hush init` chose from the club's first host). Empty if
// neither names one. Throws config::config_error on a bad config.
std::string club_crl_url(const club_paths& paths);

// "a,b,c": a certificate's hosts as one field.
std::string join_hosts(const std::vector<std::string>& hosts);

// Records a server certificate the CA just issued (kind server or csr), so that it can be
// revoked; `issued_at` is now. Throws std::runtime_error.
void record_server_cert(club::club& domain, store::cert_kind kind, const std::string& cert_pem,
                        std::int64_t issued_at);

// `hush ca crl`, and the child a server spawns to republish (spawned_ca): rewrites ca.crl from
// the store and the CA key alone, as local_ca::publish_revocations does, without reading the
// master key, which a CRL does not need (so that a server whose master key is sealed, and which
// has no passphrase to hand its child, still republishes). Checks that the directory, ca.key
// and the database are private first. Throws std::runtime_error with a one-line reason.
void publish_crl(const club_paths& paths, int days);

// The club CA with its key at hand: reads ca.key at each use (never keeps it) and signs in this
// process. For the CLI, which the club's administrator runs. Publishing writes ca.crl afresh
// (atomically, 0644) listing every certificate the store has revoked, of every kind, with the
// next CRL number from the store's counter; publishers are serialized across processes by a lock
// on the club directory, so that the list written last is never older than a revocation made before
// it began. Errors are logged (the reason) and returned as io_failure.
class local_ca final : public club::certificate_authority {
 public:
  local_ca(club_paths paths, store::store& store) : paths_(std::move(paths)), store_(store) {}

  result<club::issued_certificate> issue_client(std::string_view member, int days) override;
  result<void> publish_revocations(int days) override;

 private:
  club_paths paths_;
  store::store& store_;
};

}  // namespace hush::app
