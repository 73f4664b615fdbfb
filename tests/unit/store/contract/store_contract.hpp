#pragma once

// The contract suites every store backend must pass, one per interface (src/store/*_store.hpp).
// A backend proves itself by instantiating them all with a factory that makes a fresh, empty
// store of it: HUSH_INSTANTIATE_STORE_CONTRACTS(Name, backend{"name", factory}) in a test file
// of its own (sqlite_contract_test.cpp, memory_contract_test.cpp). The suites test only what the
// interfaces' comments promise, so nothing here may depend on one backend.

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/store.hpp"

namespace hush::store::contract {

// A backend under test: how to make a fresh, empty store of it (which owns whatever it needs,
// e.g. a temporary directory, for as long as it lives).
struct backend {
  std::string name;
  std::function<std::shared_ptr<store>()> make;
};

// Every suite's fixture: a fresh, empty store per test, and the small helpers the suites share.
class store_contract : public ::testing::TestWithParam<backend> {
 protected:
  // A sealer that always seals to `value`, whatever the id.
  static sealer fixed_value(std::vector<std::uint8_t> value) {
    return [value = std::move(value)](std::int64_t) -> result<std::vector<std::uint8_t>> {
      return value;
    };
  }
  // A credential hash, distinct per `seed`.
  static std::vector<std::uint8_t> hash_of(std::uint8_t seed) {
    return std::vector<std::uint8_t>(32, seed);
  }
  // The member's password hash as stored now, which a session is added for (add_session); an
  // impossible one for no such member.
  std::string hash_now(const std::string& name) {
    auto found = db.find_member(name);
    return found ? found->password_hash : std::string("no such member");
  }
  void add_member(const std::string& name, std::int64_t now = 1) {
    ASSERT_TRUE(db.add_member(name, role::reader, "hash of " + name, now)) << name;
  }

  std::shared_ptr<store> made_ = GetParam().make();
  store& db = *made_;
};

class MemberStoreContract : public store_contract {};
class MetaStoreContract : public store_contract {};
class TokenStoreContract : public store_contract {};
class SessionStoreContract : public store_contract {};
class MessageStoreContract : public store_contract {};
class AuditStoreContract : public store_contract {};
class CertStoreContract : public store_contract {};
class ViewStoreContract : public store_contract {};

// message_store's messages with a life (message_life_test.cpp): members as viewers.
class MessageLifeContract : public store_contract {
 protected:
  member_id join(const std::string& name, role r = role::reader) {
    auto id = db.add_member(name, r, "hash of " + name, 1);
    EXPECT_TRUE(id) << name;
    return id ? *id : member_id{};
  }
  static viewer as(member_id id, role r, std::int64_t now = 10) { return viewer{id, r, now}; }
  // A text message by `author` at `now` whose sealed body is {body}.
  message_id post(const std::string& author, const message_terms& terms, std::uint8_t body = 1,
                  std::int64_t now = 5) {
    auto id = db.add_message(author, now, message_format::text, fixed_value({body}), terms);
    EXPECT_TRUE(id) << id.error().message();
    return id ? *id : message_id{};
  }
  static message_terms to(std::vector<recipient> who) {
    message_terms terms;
    terms.to = std::move(who);
    return terms;
  }
};

// Names the backend in gtest's messages.
inline void PrintTo(const backend& b, std::ostream* out) {
  *out << b.name;
}

}  // namespace hush::store::contract

// Runs every contract suite on one backend; `prefix` names it in the test names. Use it inside
// namespace hush::store::contract (gtest pastes the suites' names into its own).
#define HUSH_INSTANTIATE_STORE_CONTRACTS(prefix, backend_value)                             \
  INSTANTIATE_TEST_SUITE_P(prefix, MemberStoreContract, ::testing::Values(backend_value));  \
  INSTANTIATE_TEST_SUITE_P(prefix, MetaStoreContract, ::testing::Values(backend_value));    \
  INSTANTIATE_TEST_SUITE_P(prefix, TokenStoreContract, ::testing::Values(backend_value));   \
  INSTANTIATE_TEST_SUITE_P(prefix, SessionStoreContract, ::testing::Values(backend_value)); \
  INSTANTIATE_TEST_SUITE_P(prefix, MessageStoreContract, ::testing::Values(backend_value)); \
  INSTANTIATE_TEST_SUITE_P(prefix, MessageLifeContract, ::testing::Values(backend_value));  \
  INSTANTIATE_TEST_SUITE_P(prefix, AuditStoreContract, ::testing::Values(backend_value));   \
  INSTANTIATE_TEST_SUITE_P(prefix, CertStoreContract, ::testing::Values(backend_value));    \
  INSTANTIATE_TEST_SUITE_P(prefix, ViewStoreContract, ::testing::Values(backend_value))
