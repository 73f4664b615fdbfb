#pragma once

#include <string>

#include "cli/club_dir.hpp"
#include "pki/pki.hpp"
#include "store/store.hpp"

namespace hush::cli {

// The club CA's key and certificate. Checks first that the directory and ca.key are private;
// throws std::runtime_error naming the file otherwise.
pki::key_and_cert read_ca(const club_paths& paths);

// The CRL URL the club's certificates name: the one in server.pem, which `hush init` chose from
// the club's first host. Empty if server.pem names none.
std::string club_crl_url(const club_paths& paths);

// Writes ca.crl afresh (atomically, 0644) listing every certificate the store has revoked, valid
// for `days`. Throws std::runtime_error.
void rewrite_crl(store::store& store, const club_paths& paths, const pki::key_and_cert& ca,
                 int days = pki::crl_validity_days);

}  // namespace hush::cli
