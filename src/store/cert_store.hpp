#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "store/records.hpp"

namespace hush::store {

// The certificates the club CA issued (members' client certificates, the server's own and those
// it signed for CSRs), their revocations, and the CRL number. `serial` is pki::canonical_serial's
// form. Serials are random (159 bits): whether one recorded as a client certificate could be
// recorded again as a server one is left to the backend, since it never happens.
// Thread safety, atomicity and errors: as every store interface (store.hpp).
class cert_store {
 public:
  virtual ~cert_store() = default;

  // A member's client certificate, recorded as given. not_found if the member does not exist
  // (checked at once with the insert: a member removed meanwhile never gets one);
  // already_exists for a serial already recorded as a client certificate.
  virtual result<void> add_client_cert(const client_cert_record& cert) = 0;
  // A server certificate (kind server or csr), recorded when the CA issues it, so that it can be
  // revoked. already_exists for a serial already recorded as a server certificate;
  // storage_failure for kind client (a client certificate belongs to a member: add_client_cert).
  virtual result<void> add_server_cert(const issued_cert_record& cert) = 0;
  // Marks the certificate revoked at `at`, whatever its kind; a certificate already revoked keeps
  // its first revocation time (a CRL never moves a revocation later). not_found for a serial the
  // CA never recorded.
  virtual result<void> revoke_cert(std::string_view serial, std::int64_t at) = 0;
  // Every certificate recorded, of every kind, by issue time, then serial.
  virtual result<std::vector<issued_cert_record>> list_certs() = 0;
  // Revokes at `at` every client certificate of the member not revoked yet, and returns how many
  // (0 for a name with none, whether or not a member has it).
  virtual result<std::size_t> revoke_member_certs(std::string_view member, std::int64_t at) = 0;
  // Every revoked certificate of every kind, for the CRL, by revocation time, then serial.
  virtual result<std::vector<revoked_cert>> list_revoked_certs() = 0;
  // The record of one client certificate (member, expiry, revocation), for the server's check of
  // a peer certificate; it stays after its member is removed. not_found for a serial never
  // recorded as a client certificate.
  virtual result<client_cert_record> client_cert_status(std::string_view serial) = 0;
  // The CRL number for the next list: positive, one more than the last one handed out, counted by
  // the store in the same atomic step that hands it out, so that it only ever grows, whichever
  // process asks, however many at once, and whatever the clock says.
  virtual result<std::int64_t> next_crl_number() = 0;
};

}  // namespace hush::store
