#pragma once

#include "store/audit_store.hpp"
#include "store/cert_store.hpp"
#include "store/club_copy.hpp"
#include "store/guess_store.hpp"
#include "store/member_store.hpp"
#include "store/message_store.hpp"
#include "store/meta_store.hpp"
#include "store/session_store.hpp"
#include "store/token_store.hpp"
#include "store/view_store.hpp"

namespace hush::store {

// Persistent state of a club: every store interface, over one shared state (a token, a session
// or a client certificate names a member; remove_member reaches all three). A backend implements
// this; each consumer takes only the interfaces it needs. tests/unit/store/contract/ holds the
// suites every backend must pass.
//
// Contract of every store interface (member_store, meta_store, token_store, session_store,
// message_store, audit_store, cert_store, view_store): every method is thread safe, and a backend
// that two processes open at once (the server and the CLI) keeps it so between them. A method may
// block (disk, network), so never call one from an I/O thread. A method that changes anything
// either commits all it changes, durably, or nothing. Errors: not_found and already_exists as each
// method says; storage_busy (another writer held the store too long), storage_unavailable (the
// store cannot be reached now: a database server down or restarting), disk_full and read_only
// (nothing was written; reads still work), storage_failure (anything else).
class store : public member_store,
              public meta_store,
              public token_store,
              public session_store,
              public message_store,
              public audit_store,
              public cert_store,
              public view_store {
 public:
  // The guessing throttle's counts, for a store that several servers share (PostgreSQL), so that
  // a guesser spread over them is throttled as if there were one; null for a store of one server
  // (SQLite), whose throttle counts in memory alone.
  virtual guess_store* shared_guesses() { return nullptr; }
  // The whole club copied out of and into this store (hush migrate); null for a store that
  // cannot (test fakes).
  virtual club_copy* copier() { return nullptr; }
};

}  // namespace hush::store
