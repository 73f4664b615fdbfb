#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "club/audit.hpp"
#include "club/certificate_authority.hpp"
#include "club/keyring.hpp"
#include "club/message_context.hpp"
#include "club/read_view.hpp"
#include "club/rules.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"
#include "crypto/password.hpp"
#include "store/store.hpp"

namespace hush::club {

struct message {
  store::message_id id;
  std::string author;
  std::int64_t created_at = 0;
  secret_bytes body;  // for a fernet message, the token: the club cannot open it
  store::message_format format = store::message_format::text;
  // The audit record this read owes: committed (club::commit_read) before the body is shown.
  owed_audit audit;
  // Its life, and the reads counted so far (this one included, when it was counted).
  store::message_terms terms{};
  std::uint32_t reads = 0;
};

// What a member's read will show. One that shows no body uses none of a message's limited
// reads: `fernet_only` (the reader asked for a Fernet token) refuses a text message with
// invalid_argument before any claim, and `head_only` (HEAD: the answer's headers alone) looks
// without claiming.
struct read_options {
  bool fernet_only = false;
  bool head_only = false;
};

// A new API token: its value, shown once (the store keeps a hash), and its record.
struct new_token {
  secret_string value;
  store::token_record record;
};

// The club's use cases: the application layer, and the only way into the domain. The CLI
// commands and the HTTP handlers are thin doors onto these functions (parse, call one, format),
// so that a rule holds whichever door a request comes through. Thread safe as its parts are;
// every call may block (disk, Argon2, the CA), so never on an I/O thread.
//
// Errors: those of the store, and invalid_argument (a malformed input), too_large, not_found (no
// such member, message, token or certificate), conflict (against a rule of the club: the last
// admin, removing oneself), not_published (the change was made, but the revocation list could
// not be rewritten).
class club {
 public:
  club(store::store& store, keyring& keys, const crypto::password_hasher& hasher,
       const clock& clock, certificate_authority& ca, audit_sink& audits,
       std::size_t max_message_bytes);

  // Messages. An author must be a member (not_found otherwise), from every door.
  // invalid_argument for an empty body or one that is not UTF-8, or a `life` that cannot be
  // (life_problem says why); too_large above the limit; not_found also for a recipient who is not
  // a member (unknown_recipient says which). The expiry counts from the moment of posting.
  result<store::message_id> post(std::string_view author, std::string_view body,
                                 const message_life& life = {});
  // An end-to-end message: a Fernet token made by the client, stored (sealed like any body) as
  // it came. invalid_argument unless it has a Fernet token's shape; too_large if it holds more
  // than max_message_bytes of plaintext. Its life as post's: the server enforces who may fetch
  // the token, how often and until when, though it cannot open it.
  result<store::message_id> post_fernet(std::string_view author, std::string_view token,
                                        const message_life& life = {});
  // The first name in `life.to` that names no member, for the doors' error after post's
  // not_found; nullopt when every one does.
  std::optional<std::string> unknown_recipient(const message_life& life);
  // A member's reads, from every door that authenticates one: only messages `reader` may see
  // (their own, one without recipients, one addressed to them or their role), never an expired
  // one; anything else is not_found, exactly as a message that does not exist. A read of a
  // message with a read limit is claimed in the store (club's read counts it, unless the reader
  // is the author), and exactly max_reads such reads succeed however many race. The returned
  // message carries the audit record it owes (reader, message, time, remote), which the caller
  // must commit before it shows the body. read_newest gives the newest message the reader may
  // see (past ones another reader used up meanwhile).
  // A read that shows no body uses nothing up (read_options).
  result<message> read_newest(std::string_view reader, std::string_view remote,
                              read_options options = {});
  result<message> read(store::message_id id, std::string_view reader, std::string_view remote,
                       read_options options = {});
  // The operator's read (the CLI, on the club's host, with its keys): any message still alive,
  // never counted against a read limit; audited as `reader` like any read.
  result<message> read_as_operator(store::message_id id, std::string_view reader,
                                   std::string_view remote);
  // The same reads from memory (read_view), for the server's I/O threads: nothing here touches
  // the store or blocks. read_newest's audit record is owed as of the view's generation, and its
  // commit fails with `stale` (nothing written) if a change overtook the view; the caller must
  // then serve the request again from the store. not_found for no message, or when the view's
  // message needs a data key that is not in memory.
  result<message> read_newest(const read_view& view, std::string_view reader,
                              std::string_view remote);
  const store::member_record* member_by_token(const read_view& view, std::string_view token);
  // A fresh view of what a read needs (store::view_store::snapshot); blocks on the store.
  result<std::shared_ptr<const read_view>> load_view();
  // Commits a read's audit record through the club's sink; `done` runs once it is durable (or
  // with why not), perhaps on another thread. commit_read_now waits for it.
  void commit_read(owed_audit audit, audit_sink::done_fn done);
  result<void> commit_read_now(owed_audit audit);
  // Returns once every read's record handed to commit_read is committed and its `done` has run:
  // for a server that stops, before the threads those callbacks post to go away.
  void flush_audits() { audits_.flush(); }
  // At most `limit` messages, newest first, below `before` when set (keyset paging): those
  // `reader` may see (as read), or, without a reader (the operator's list), every one alive.
  result<std::vector<store::message_summary>> list(std::optional<store::message_id> before,
                                                   std::size_t limit);
  result<std::vector<store::message_summary>> list(std::optional<store::message_id> before,
                                                   std::size_t limit, std::string_view reader);
  // Read receipts: the reads of message `id` in the audit trail (at most `limit`, oldest first),
  // for `by`, who must be able to see it and be its author or an admin (forbidden otherwise;
  // not_found when they may not see it, or it is gone). The operator's form asks nothing, and
  // outlives the message.
  result<std::vector<store::audit_record>> reads_of(store::message_id id, std::string_view by,
                                                    std::size_t limit);
  result<std::vector<store::audit_record>> reads_of(store::message_id id, std::size_t limit);
  // The sweeper's step: removes (and wipes) at most `batch` messages expired now; returns how
  // many. Call it in a loop while it returns `batch`.
  result<std::size_t> sweep_expired(std::size_t batch);
  // Removes the message and wipes its bytes (store::remove_message); not_wiped as it says.
  result<void> remove(store::message_id id);
  // The same, asked by the member `by` (their role read afresh): an admin removes any message
  // they may see, a poster their own (may_delete); forbidden, nothing removed, for anyone else.
  // not_found for no such message, one they may not see (a message to others, admins included),
  // or no such member. Message ids are never reused, so the author checked is
  // the author of the message removed.
  result<void> remove(store::message_id id, std::string_view by);
  // Whether the store answers a read, for /healthz: ok, or the error that kept it from answering.
  result<void> check_store();

  // Members. invalid_argument for a bad name or a password outside the size limits.
  result<store::member_id> add_member(std::string_view name, store::role r,
                                      std::string_view password);
  result<std::vector<store::member_record>> list_members();
  result<store::member_record> find_member(std::string_view name);
  // Sets a new password and ends every browser session of the member, in one step (API tokens
  // and client certificates stay). The caller has checked whatever proves the change may be made
  // (the CLI: the club directory, and it sets the password whatever it was).
  result<void> set_password(std::string_view name, std::string_view password);
  // A member's own change: the same, but only if their password hash is still `verified_hash`,
  // the one their current password was just verified against (conflict, nothing changed,
  // otherwise: another change came first). Every browser session of theirs ends, the one the
  // change was made in too; with `new_session`, a new one is started for the new password and its
  // token returned, so that a browser goes on under a session no stolen cookie can share.
  // conflict when that session cannot be added because the password changed again meanwhile.
  result<std::optional<secret_string>> change_password(
      std::string_view name, std::string_view verified_hash, std::string_view password,
      std::optional<store::session_limits> new_session);
  // Removes the member with their tokens and sessions, revokes their client certificates now and
  // republishes the revocation list. `by` is the admin asking, when the request names one (the
  // API): conflict if they remove themselves. conflict for the club's last admin, from any door.
  result<void> remove_member(std::string_view name, std::optional<std::string_view> by = {});
  // Gives the member the role `r` and returns the role they had (the same role again changes
  // nothing). not_found for no such member; conflict when it would leave the club without an
  // admin, from any door (decided by the store in the same step as the change). Every request
  // reads its member's role afresh, so the change holds for their next request, whatever the
  // credential.
  result<store::role> set_role(std::string_view name, store::role r);
  // The client certificates the CA issued to the member `name`, in list_certs' order, a removed
  // member's (revoked with them) too. not_found when no member has the name and no certificate
  // names them.
  result<std::vector<store::issued_cert_record>> member_certs(std::string_view name);

  // API tokens. invalid_argument for a bad name or a negative lifetime (0: no expiry);
  // not_found when the member does not exist; already_exists for a taken name.
  result<new_token> create_token(std::string_view name, std::string_view member,
                                 std::int64_t lifetime_seconds);
  result<std::vector<store::token_record>> list_tokens();
  result<void> revoke_token(std::string_view name);

  // Who a credential belongs to, for the authenticator: the member of an API token that exists
  // and has not expired, of a live browser session (marked as used; `expired` when it ran out),
  // and of a client certificate that the CA recorded for this very member (`common_name`), not
  // revoked, not expired, of a member who still exists. not_found for anything else; store
  // errors as they are.
  result<store::member_record> member_by_token(std::string_view token);
  result<store::member_record> member_by_session(std::string_view token,
                                                 store::session_limits limits);
  result<store::member_record> member_by_certificate(std::string_view serial,
                                                     std::string_view common_name);
  // Replaces a member's password hash with a stronger one made from the same password, only if
  // it is still `expected`: a password changed meanwhile is never overwritten.
  result<void> upgrade_password_hash(std::string_view name, std::string_view expected,
                                     std::string_view replacement);

  // A new browser session for a member whose password was just verified against
  // `verified_hash`: its token, which only the member's cookie will ever hold (the store keeps a
  // hash). conflict (no session) when that is no longer their hash: a password change ended
  // every session after the check, and this one must not outlive it.
  result<secret_string> start_session(std::string_view member, std::string_view verified_hash,
                                      store::session_limits limits);
  // not_found if the session is already gone.
  result<void> end_session(std::string_view token);

  // Certificates from the club CA. A client certificate is recorded before it is handed out, so
  // that every one can be found and revoked; not_found when the member does not exist.
  result<issued_certificate> issue_client_cert(std::string_view member, int days);
  // Records a server certificate the CA issued (kind server or csr), so that it can be revoked.
  result<void> record_server_cert(const store::issued_cert_record& cert);
  // Revokes the certificate (any kind the CA recorded) now and republishes the revocation list.
  result<void> revoke_cert(std::string_view serial);
  result<std::vector<store::issued_cert_record>> list_certs();
  // Rewrites the revocation list, valid for `days` (0: the longest).
  result<void> publish_revocations(int days = 0);

  // The newest `limit` audit records, oldest first.
  result<std::vector<store::audit_record>> audit_trail(std::size_t limit);
  // Deletes up to `batch` audit records older than `keep_days` days; returns how many. 0 days
  // keeps everything. Call it in a loop while it returns `batch`.
  result<std::size_t> prune_audit(unsigned keep_days, std::size_t batch);

  // Keys (keys.cpp). A new master key: every data key rewrapped under `fresh` in one commit
  // (keyring::rotate_master_key); the caller keeps `fresh` where the master key lives.
  result<void> rotate_master_key(locked_bytes fresh);
  // A data-key rotation is run in steps, with pauses between them if the caller likes, and
  // resumed after a crash by starting it again. start: a new data key, which seals from now on;
  // or, when an older key is still there (a rotation did not finish), that rotation again.
  struct data_key_rotation {
    std::uint32_t key = 0;
    bool resumed = false;
  };
  result<data_key_rotation> start_data_key_rotation();
  // Re-seals, under the newest data key, each of at most `batch` messages after `after` that an
  // older key sealed: one commit per batch. `next` is where the next step starts; done when
  // none are left after it.
  struct reseal_step {
    std::optional<store::message_id> next;
    std::size_t resealed = 0;
    bool done = false;
  };
  result<reseal_step> reseal_messages(std::optional<store::message_id> after, std::size_t batch);
  // Removes every data key but the newest once no message needs one: conflict (nothing removed)
  // if a message is still sealed under an older key. Returns how many were removed.
  result<std::size_t> retire_old_data_keys();

  std::size_t max_message_bytes() const noexcept { return max_message_bytes_; }

 private:
  result<store::message_id> add_sealed(std::string_view author, store::message_format format,
                                       std::span<const std::uint8_t> plain,
                                       const message_life& life);
  // The viewer a member's read or list is made as (their id and role read afresh), now.
  result<store::viewer> viewer_of(std::string_view reader);
  // The member `by` (afresh) and message `id` as they may see it: not_found for either missing,
  // or a message they may not see.
  struct seen_message {
    store::member_record member;
    store::message_record message;
  };
  result<seen_message> seen_by(store::message_id id, std::string_view by);
  result<message> open_for(store::message_record record, std::string_view reader,
                           std::string_view remote);
  // not_published when the list could not be rewritten (the change itself stands).
  result<void> republish();

  store::store& store_;
  keyring& keys_;
  const crypto::password_hasher& hasher_;
  const clock& clock_;
  certificate_authority& ca_;
  audit_sink& audits_;
  std::size_t max_message_bytes_;
};

}  // namespace hush::club
