#pragma once

#include <vector>

#include "club/club.hpp"

namespace hush::cli {

// Prints certificates the club CA issued, as `hush ca list` and `hush member certs` show them: a
// table (SERIAL, KIND, NAMES, EXPIRES, STATUS: valid or revoked TIME), or with `json` one document
// {"certificates": [{serial, kind, names, issued, expires, revoked}]} (revoked: a time or null).
void print_certificates(const std::vector<store::issued_cert_record>& certs, bool json);

}  // namespace hush::cli
