// libFuzzer target: envelope::key_id and envelope::open on untrusted bytes (a database row is
// untrusted once the disk is), under a fixed key and a context taken from the input.
//
// Input: byte 0 = context length n, then n bytes of context, then the envelope
// (envelope_input.hpp). Invariants checked (abort on violation):
//  - key_id accepts exactly the well-formed envelopes (length >= overhead, version 1 or 2) and
//  reads
//    the big-endian id from bytes 1..4; open never accepts what key_id rejects;
//  - whatever opens under the fixed key and context re-seals and opens to the same plaintext;
//    the same envelope does not open under another context or another key, nor with any single
//    bit flipped;
//  - open(seal(p)) == p for a plaintext p derived from the input, under the input's context.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "envelope_input.hpp"

namespace {

namespace envelope = hush::crypto::envelope;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_envelope: invariant broken: %s\n", what);
    std::abort();
  }
}

bool same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// Seals p under the key and context and checks that it opens to p, and to nothing else.
void check_round_trip(const hush::secret_bytes& key, std::uint32_t id,
                      std::span<const std::uint8_t> p, std::string_view context) {
  const auto sealed = envelope::seal(key, id, p, context);
  check(sealed.size() == p.size() + envelope::overhead, "sealed size is plaintext + overhead");
  const auto sealed_id = envelope::key_id(sealed);
  check(sealed_id && *sealed_id == id, "key_id of a fresh envelope is the id it was sealed with");
  const auto opened = envelope::open(key, sealed, context);
  check(opened.has_value(), "a fresh envelope opens");
  check(same(opened->span(), p), "open(seal(p)) == p");
  const std::string other_context = std::string(context) + "#";
  check(!envelope::open(key, sealed, other_context),
        "a fresh envelope opens under another context");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const hush::secret_bytes key = hush::fuzz::fixed_envelope_key();
  static const hush::secret_bytes other_key = [] {
    auto k = hush::fuzz::fixed_envelope_key();
    k.data()[0] ^= 0x80;
    return k;
  }();

  const auto in = hush::fuzz::split_envelope_input(data, size);

  const auto id = envelope::key_id(in.sealed);
  const bool well_formed =
      in.sealed.size() >= envelope::overhead &&
      (in.sealed[0] == envelope::version_1 || in.sealed[0] == envelope::version_2);
  check(id.has_value() == well_formed, "key_id accepts exactly the well-formed envelopes");
  if (id) {
    const std::uint32_t expected = (std::uint32_t{in.sealed[1]} << 24) |
                                   (std::uint32_t{in.sealed[2]} << 16) |
                                   (std::uint32_t{in.sealed[3]} << 8) | std::uint32_t{in.sealed[4]};
    check(*id == expected, "key_id reads bytes 1..4 big-endian");
  }

  const auto opened = envelope::open(key, in.sealed, in.context);
  check(!opened || id, "open accepted an envelope key_id rejects");
  if (opened) {
    check(opened->size() + envelope::overhead == in.sealed.size(), "opened size");
    check(!envelope::open(other_key, in.sealed, in.context), "opens under another key");
    const std::string other_context = std::string(in.context) + "#";
    check(!envelope::open(key, in.sealed, other_context), "opens under another context");
    // Any flipped bit, in the header, the nonce, the ciphertext or the tag, must be caught. One
    // bit per byte position chosen from the input keeps this cheap.
    std::vector<std::uint8_t> altered(in.sealed.begin(), in.sealed.end());
    const std::size_t at = in.context.size() % altered.size();
    altered[at] ^= static_cast<std::uint8_t>(1U << (altered.size() % 8));
    check(!envelope::open(key, altered, in.context), "opens with a flipped bit");
    check_round_trip(key, *id, opened->span(), in.context);
  }

  // A plaintext derived from the input: the envelope bytes themselves, sealed under the input's
  // context and key id (or 0).
  check_round_trip(key, id ? *id : 0, in.sealed, in.context);
  return 0;
}
