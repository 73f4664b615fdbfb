#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/secret.hpp"

namespace hush::club {

// A certificate the club CA just issued, as the club records it and hands it out.
struct issued_certificate {
  std::string serial;  // pki::canonical_serial's form
  std::int64_t not_after = 0;
  std::string cert_pem;
  secret_string key_pem;
};

// The club's certificate authority, as the use cases need it. Where the CA key is at hand (the
// CLI, run by the club's administrator) it signs in process; the serving process holds no CA key,
// so there issuing is refused and the revocation list is written by a short-lived child process
// that reads the key (app::spawned_ca). Every call may block.
class certificate_authority {
 public:
  virtual ~certificate_authority() = default;

  // A client certificate for `member`, valid for `days`.
  virtual result<issued_certificate> issue_client(std::string_view member, int days) = 0;
  // Writes the published revocation list afresh from the store's revocations, valid for `days`
  // (0: the longest the CA allows), so that it lists every certificate revoked so far.
  virtual result<void> publish_revocations(int days) = 0;
};

}  // namespace hush::club
