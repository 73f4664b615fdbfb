#include "crypto/passphrase.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace hush::crypto::passphrase {
namespace {

// Cheap costs: the tests are about the format, not the hardness.
constexpr std::uint32_t fast_iterations = 1;
constexpr std::uint32_t fast_memory_kib = 8 * 1024;

std::vector<std::uint8_t> bytes(std::string_view text) {
  return {text.begin(), text.end()};
}

std::vector<std::uint8_t> sealed_value() {
  return seal("correct horse", bytes("the key"), "ctx", fast_iterations, fast_memory_kib).value();
}

TEST(Passphrase, OpensWithThePassphraseAndContextOnly) {
  const auto sealed = sealed_value();
  EXPECT_TRUE(looks_sealed(sealed));
  EXPECT_EQ(open("correct horse", sealed, "ctx").value().view(), "the key");
  EXPECT_EQ(open("correct horsE", sealed, "ctx").error(), errc::crypto_failure);
  EXPECT_EQ(open("correct horse", sealed, "other").error(), errc::crypto_failure);
}

TEST(Passphrase, EachSealHasItsOwnSalt) {
  EXPECT_NE(sealed_value(), sealed_value());
}

TEST(Passphrase, AnAlteredHeaderOrBodyDoesNotOpen) {
  const auto sealed = sealed_value();
  for (const std::size_t at : {std::size_t{20}, std::size_t{30}, sealed.size() - 1}) {
    auto altered = sealed;
    altered[at] ^= 1;
    EXPECT_FALSE(open("correct horse", altered, "ctx")) << at;
  }
  // The costs are authenticated too: a cheaper one written in does not open.
  auto cheaper = sealed;
  cheaper[11] = 2;
  EXPECT_FALSE(open("correct horse", cheaper, "ctx"));
}

TEST(Passphrase, RefusesShortPassphrasesAndForeignOrCostlyInput) {
  EXPECT_EQ(seal("short", bytes("x"), "ctx", fast_iterations, fast_memory_kib).error(),
            errc::invalid_argument);
  EXPECT_FALSE(looks_sealed(bytes("not sealed at all")));
  EXPECT_EQ(open("correct horse", bytes("not sealed at all"), "ctx").error(),
            errc::invalid_argument);
  auto costly = sealed_value();
  costly[12] = 0x7f;  // memory KiB far above the maximum
  EXPECT_EQ(open("correct horse", costly, "ctx").error(), errc::invalid_argument);
}

}  // namespace
}  // namespace hush::crypto::passphrase
