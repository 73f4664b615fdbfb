// libFuzzer target: Fernet tokens and keys from outside (a member's terminal, a stored e2e body).
//
// Input: the whole input is tried as a key and as a token under a fixed key. Invariants checked
// (abort on violation):
//  - decrypt never accepts what well_formed rejects;
//  - a token that decrypts under the fixed key is one it made: re-encrypting its plaintext gives
//    a token that decrypts to the same bytes, and no single flipped character still decrypts
//    to those bytes;
//  - encrypt(p) decrypts to p for a plaintext p taken from the input, and its size is
//    token_size(p.size()).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "crypto/fernet.hpp"

namespace {

namespace fernet = hush::crypto::fernet;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_fernet: invariant broken: %s\n", what);
    std::abort();
  }
}

const hush::secret_bytes& fixed_key() {
  static const auto key = *fernet::parse_key("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=");
  return key;
}

bool same(const hush::secret_bytes& a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && (b.empty() || std::memcmp(a.data(), b.data(), b.size()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  [[maybe_unused]] auto key = fernet::parse_key(text);

  const auto opened = fernet::decrypt(fixed_key(), text);
  if (opened) {
    check(fernet::well_formed(text), "decrypt accepted a malformed token");
    const auto again = fernet::encrypt(fixed_key(), opened->span(), 499162800);
    check(static_cast<bool>(again), "re-encrypting an opened plaintext failed");
    const auto reopened = fernet::decrypt(fixed_key(), *again);
    check(reopened && same(*reopened, opened->span()), "re-encrypted token does not round trip");
    std::string flipped(text);
    for (std::size_t i = 0; i < flipped.size(); ++i) {
      flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
      const auto tampered = fernet::decrypt(fixed_key(), flipped);
      check(!tampered || !same(*tampered, opened->span()) || flipped == text,
            "a tampered token still decrypts to the same plaintext");
      flipped[i] = text[i];
    }
  }

  const std::span<const std::uint8_t> plaintext(data, size);
  const auto token = fernet::encrypt(fixed_key(), plaintext, 499162800);
  check(static_cast<bool>(token), "encrypt failed");
  check(token->size() == fernet::token_size(size), "token size is not token_size()");
  const auto back = fernet::decrypt(fixed_key(), *token);
  check(back && same(*back, plaintext), "encrypt then decrypt does not round trip");
  return 0;
}
