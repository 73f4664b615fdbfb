#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/secret.hpp"
#include "crypto/password.hpp"
#include "store/store.hpp"

namespace hush::auth {

// An authenticated member. Only the authenticator can make one, so a handler that holds a member
// knows that the request proved who it is.
class member {
 public:
  const std::string& name() const noexcept { return name_; }
  store::role role() const noexcept { return role_; }

 private:
  member(std::string name, store::role r) : name_(std::move(name)), role_(r) {}
  friend class authenticator;

  std::string name_;
  store::role role_;
};

struct basic_credentials {
  std::string user;
  secret_string password;
};

// Parses an Authorization header value of the Basic scheme (RFC 7617); nullopt if it is not one
// or is malformed. The scheme name is case-insensitive.
std::optional<basic_credentials> parse_basic(std::string_view authorization);

// Checks credentials against the store. Thread safe; blocks on Argon2 and disk, so call it off the
// I/O threads. Every failure is the same `unauthorized`, and costs the same time whether the
// member is unknown or the password wrong.
class authenticator {
 public:
  authenticator(store::store& store, const crypto::password_hasher& hasher)
      : store_(store), hasher_(hasher) {}

  result<member> authenticate_basic(std::string_view authorization);
  result<member> authenticate_password(std::string_view name, std::string_view password);

 private:
  store::store& store_;
  const crypto::password_hasher& hasher_;
};

}  // namespace hush::auth
