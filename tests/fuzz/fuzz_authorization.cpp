// libFuzzer target: the parsers of a client's Authorization header, auth::parse_basic and
// auth::parse_bearer, and auth::parse_duration (token lifetimes, `hush token create --expires`).
//
// Invariants checked (abort on violation):
//  - a Basic header that parses yields a non-empty user without a ':' (Basic splits at the first
//    colon), and encoding what it yielded as a Basic header parses back to the same user and
//    password;
//  - a Bearer token is 43 base64url characters taken from the header itself;
//  - a duration is between 0 and ten years, and the same number of seconds written "<n>s" parses
//    to the same value.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/authenticator.hpp"
#include "auth/tokens.hpp"
#include "crypto/encoding.hpp"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_authorization: invariant broken: %s\n", what);
    std::abort();
  }
}

void check_bearer(std::string_view header) {
  const auto token = hush::auth::parse_bearer(header);
  if (!token) {
    return;
  }
  check(token->size() == 43, "bearer token is not 43 characters");
  check(token->find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
            std::string_view::npos,
        "bearer token is not base64url");
  check(token->data() >= header.data() &&
            token->data() + token->size() <= header.data() + header.size(),
        "bearer token does not point into the header");
}

void check_duration(std::string_view text) {
  constexpr std::int64_t ten_years = std::int64_t{10} * 366 * 24 * 3600;
  const auto seconds = hush::auth::parse_duration(text);
  if (!seconds) {
    return;
  }
  check(*seconds >= 0 && *seconds <= ten_years, "duration out of range");
  const auto again = hush::auth::parse_duration(std::to_string(*seconds) + "s");
  check(again == seconds, "a duration in seconds does not parse to itself");
}

void check_basic(std::string_view header) {
  const auto parsed = hush::auth::parse_basic(header);
  if (!parsed) {
    return;
  }
  check(!parsed->user.empty(), "empty user");
  check(parsed->user.find(':') == std::string::npos, "user contains ':'");

  const std::string joined = parsed->user + ":" + parsed->password.str();
  const std::string again =
      "basic " + hush::crypto::base64_encode(std::span(
                     reinterpret_cast<const std::uint8_t*>(joined.data()), joined.size()));
  const auto reparsed = hush::auth::parse_basic(again);
  // parse_basic accepts only canonical base64 (padded, zero pad bits), so the re-encoded header is
  // no longer than the original and fits under the same size limit.
  check(reparsed.has_value(), "re-encoded credentials do not parse");
  check(reparsed->user == parsed->user, "user changed in a round trip");
  check(reparsed->password.str() == parsed->password.str(), "password changed in a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_basic(text);
  check_bearer(text);
  check_duration(text);
  return 0;
}
