#include "club/credentials.hpp"

#include "crypto/credential.hpp"

namespace hush::club {
namespace {

// Domain separation: a hash of one kind can never be mistaken for a hash of anything else.
constexpr std::string_view token_hash_context = "hush api token v1";
constexpr std::string_view session_hash_context = "hush session v1";

}  // namespace

std::array<std::uint8_t, 32> token_hash(std::string_view token) {
  return crypto::labelled_hash(token_hash_context, token);
}

std::array<std::uint8_t, 32> session_hash(std::string_view token) {
  return crypto::labelled_hash(session_hash_context, token);
}

}  // namespace hush::club
