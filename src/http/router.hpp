#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "auth/authenticator.hpp"
#include "http/handlers/handlers.hpp"
#include "http/types.hpp"

namespace hush::http {

// One path the server answers, as OpenAPI writes it ("/api/v1/messages/{id}"), and the methods
// it allows, as the Allow header lists them (HEAD wherever GET is).
struct route_spec {
  std::string_view path;
  std::string_view allow;
};
// Every path the server answers but the members' page and its files: the table route() follows.
// docs/openapi.json describes exactly these (tests/unit/http/openapi_test.cpp fails when the two
// drift, and tests/integration/test_openapi.py asks a running server).
std::span<const route_spec> route_table();

// The whole HTTP surface in one table (router.cpp): match the path, check the method, answer
// OPTIONS, authenticate, then call the handler with the member. Thread safe; touches the disk,
// so the server calls it on its worker pools.
class router {
 public:
  explicit router(services s) : services_(s) {}

  // The answer, or (for a password to verify or a new member's password to hash) the rest of the
  // request to resume on the hashing pool: one pass through routing either way. Nothing here
  // runs Argon2id.
  outcome route(const request& req, const request_context& ctx);
  // The one request the server answers on its I/O threads, from memory alone (services::views):
  // GET or HEAD / with an Authorization header that the view proves (a token, or a Basic login
  // the verified-credential cache holds). Its reply owes an audit as of the view, whose commit
  // fails with `stale` if a change overtook the view; the request must then be routed afresh.
  // nullopt for every other request, and for anything this one would refuse: route() answers
  // those. Never blocks.
  std::optional<reply> serve_from_view(const request& req, const request_context& ctx);
  // route(), resumed at once if it needs a hash, and the audit record committed at once: always a
  // response. For tests, the fuzzer and anything that is not the server.
  response handle(const request& req, const request_context& ctx);

 private:
  services services_;
};

}  // namespace hush::http
