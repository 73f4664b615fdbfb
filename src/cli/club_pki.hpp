#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/club_dir.hpp"
#include "pki/pki.hpp"
#include "store/store.hpp"

namespace hush::cli {

// The club CA's key and certificate. Checks first that the directory is private, and reads
// ca.key as a private file (files::read_secret: no link, 0600, ours); throws std::runtime_error
// naming the file otherwise.
pki::key_and_cert read_ca(const club_paths& paths);

// The CRL URL the club's certificates name: the one in server.pem, which `hush init` chose from
// the club's first host. Empty if server.pem names none.
std::string club_crl_url(const club_paths& paths);

// "a,b,c": a certificate's hosts as one field.
std::string join_hosts(const std::vector<std::string>& hosts);

// Records a server certificate the CA just issued (kind server or csr) in the store, so that it
// can be revoked; `issued_at` is now. Throws std::runtime_error.
void record_server_cert(store::store& store, store::cert_kind kind, const std::string& cert_pem,
                        std::int64_t issued_at);

// Writes ca.crl afresh (atomically, 0644) listing every certificate the store has revoked, of
// every kind, valid for `days`, with the next CRL number from the store's counter. Throws
// std::runtime_error.
void rewrite_crl(store::store& store, const club_paths& paths, const pki::key_and_cert& ca,
                 int days = pki::crl_validity_days);

// Revokes the certificate with this serial (any form pki::canonical_serial accepts; any kind the
// CA recorded) at `at` and rewrites ca.crl. Returns the canonical serial. Throws
// std::runtime_error with a one-line reason (malformed or unknown serial, storage).
std::string revoke_and_publish(store::store& store, const club_paths& paths,
                               const std::string& serial_text, std::int64_t at);

// The command behind `hush ca revoke SERIAL` and `hush member cert --revoke SERIAL`: opens the
// club in `dir`, revokes and publishes, and says so on stdout.
void revoke_certificate(const std::string& dir, const std::string& serial_text);

}  // namespace hush::cli
