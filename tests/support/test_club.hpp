#pragma once

#include <fcntl.h>
#include <memory>
#include <string>
#include <unistd.h>

#include "app/audit_sinks.hpp"
#include "auth/authenticator.hpp"
#include "club/club.hpp"
#include "club/keyring.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/locked.hpp"
#include "crypto/envelope.hpp"
#include "crypto/password.hpp"
#include "crypto/random.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace hush::testing {

// A clock that stands still until a test moves it.
class fixed_clock final : public clock {
 public:
  std::int64_t now_seconds() const override { return now; }
  std::int64_t now = 1'700'000'000;
};

// The cheapest Argon2id the config allows, so tests stay fast; the algorithm is the real one.
inline crypto::argon2_params cheap_argon2() {
  return {crypto::argon2_min_iterations, crypto::argon2_min_memory_kib};
}

// A fresh random master key, in locked memory as the keyring wants it.
inline locked_bytes random_master_key() {
  return locked_bytes::copy_of(crypto::random_bytes(crypto::envelope::key_size).span());
}

inline std::filesystem::path make_database(const temp_dir& dir) {
  const auto path = dir.path() / "hush.db";
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
  ::close(fd);
  return path;
}

// A CA that signs nothing: it counts what the use cases ask of it, and fails when told to.
class recording_ca final : public club::certificate_authority {
 public:
  result<club::issued_certificate> issue_client(std::string_view member, int days) override {
    ++issued;
    if (fail) {
      return make_error_code(errc::io_failure);
    }
    return club::issued_certificate{
        "0" + std::to_string(100 + issued), 1'800'000'000,
        "cert of " + std::string(member) + " for " + std::to_string(days) + " days",
        secret_string(std::string("key"))};
  }
  result<void> publish_revocations(int) override {
    ++published;
    if (fail) {
      return make_error_code(errc::io_failure);
    }
    return {};
  }
  int issued = 0;
  int published = 0;
  bool fail = false;
};

// A whole club in a temporary directory: store, keyring with one data key, club, authenticator.
// A club over a store of the test's own (a fake that fails or races on cue), everything else as
// test_club's: for tests that drive the club, the authenticator or the router into a store's
// corner.
template <typename Store>
struct club_over {
  Store store;
  fixed_clock clock;
  club::keyring keys{random_master_key(), store};
  crypto::password_hasher hasher{cheap_argon2()};
  recording_ca ca;
  app::direct_audit_sink audits{store};
  club::club domain{store, keys, hasher, clock, ca, audits, 1024};
  auth::authenticator auth{domain, hasher, {}, std::chrono::seconds(300)};
};

struct test_club {
  explicit test_club(std::size_t max_message_bytes = 1024)
      : db_path(make_database(dir)),
        store(db_path),
        keys(random_master_key(), store),
        hasher(cheap_argon2()),
        audits(store),
        domain(store, keys, hasher, clock, ca, audits, max_message_bytes),
        auth(domain, hasher, {}, std::chrono::seconds(300)) {
    if (!keys.add_data_key(clock.now_seconds())) {
      throw std::runtime_error("cannot add a data key");
    }
  }

  void add(const std::string& name, store::role r, const std::string& password) {
    if (!domain.add_member(name, r, password)) {
      throw std::runtime_error("cannot add member " + name);
    }
  }

  temp_dir dir;
  std::filesystem::path db_path;
  fixed_clock clock;
  store::sqlite_store store;
  club::keyring keys;
  crypto::password_hasher hasher;
  recording_ca ca;
  app::direct_audit_sink audits;
  club::club domain;
  auth::authenticator auth;
};

}  // namespace hush::testing
