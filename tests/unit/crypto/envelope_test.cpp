#include "crypto/envelope.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "crypto/random.hpp"

namespace hush::crypto {
namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

class EnvelopeTest : public ::testing::Test {
 protected:
  secret_bytes key = random_bytes(envelope::key_size);
};

TEST_F(EnvelopeTest, RoundTrip) {
  const auto sealed = envelope::seal(key, 7, bytes("meet at dawn"), "message:1");
  EXPECT_EQ(sealed.size(), envelope::overhead + 12);
  EXPECT_EQ(sealed[0], envelope::version_1);
  EXPECT_EQ(envelope::key_id(sealed).value(), 7U);
  const auto opened = envelope::open(key, sealed, "message:1");
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->view(), "meet at dawn");
}

TEST_F(EnvelopeTest, EmptyPlaintextRoundTrips) {
  const auto sealed = envelope::seal(key, 1, {}, "ctx");
  const auto opened = envelope::open(key, sealed, "ctx");
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->empty());
}

TEST_F(EnvelopeTest, CiphertextHidesPlaintext) {
  const std::string plain = "the plaintext must not be visible in the envelope";
  const auto sealed = envelope::seal(key, 1, bytes(plain), "ctx");
  const std::string raw(sealed.begin(), sealed.end());
  EXPECT_EQ(raw.find("plaintext"), std::string::npos);
}

TEST_F(EnvelopeTest, SameInputSealsDifferently) {
  EXPECT_NE(envelope::seal(key, 1, bytes("x"), "c"), envelope::seal(key, 1, bytes("x"), "c"));
}

TEST_F(EnvelopeTest, EveryFlippedBitIsDetected) {
  const auto sealed = envelope::seal(key, 3, bytes("attack at dawn"), "message:9");
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto tampered = sealed;
    tampered[i] ^= 0x01;
    const auto opened = envelope::open(key, tampered, "message:9");
    ASSERT_FALSE(opened) << "byte " << i;
    EXPECT_EQ(opened.error(), errc::crypto_failure);
  }
}

TEST_F(EnvelopeTest, OtherContextIsRefused) {
  const auto sealed = envelope::seal(key, 1, bytes("secret"), "message:1");
  EXPECT_FALSE(envelope::open(key, sealed, "message:2"));
}

TEST_F(EnvelopeTest, OtherKeyIsRefused) {
  const auto sealed = envelope::seal(key, 1, bytes("secret"), "ctx");
  EXPECT_FALSE(envelope::open(random_bytes(envelope::key_size), sealed, "ctx"));
}

TEST_F(EnvelopeTest, TruncatedOrUnknownVersionIsRefused) {
  auto sealed = envelope::seal(key, 1, bytes("secret"), "ctx");
  const std::vector<std::uint8_t> short_one(sealed.begin(),
                                            sealed.begin() + envelope::overhead - 1);
  EXPECT_FALSE(envelope::key_id(short_one));
  EXPECT_FALSE(envelope::open(key, short_one, "ctx"));
  sealed[0] = 3;
  EXPECT_FALSE(envelope::key_id(sealed));
  EXPECT_FALSE(envelope::version(sealed));
}

TEST_F(EnvelopeTest, VersionTwoSharesTheLayoutAndIsAuthenticated) {
  auto sealed = envelope::seal(key, 4, bytes("bound"), "ctx", envelope::version_2);
  EXPECT_EQ(envelope::version(sealed).value(), envelope::version_2);
  EXPECT_EQ(envelope::key_id(sealed).value(), 4U);
  EXPECT_EQ(envelope::open(key, sealed, "ctx").value().view(), "bound");
  sealed[0] = envelope::version_1;  // a downgrade is a change like any other
  EXPECT_FALSE(envelope::open(key, sealed, "ctx"));
}

TEST_F(EnvelopeTest, OpenIntoFillsTheCallersBufferOrZeroesIt) {
  const auto sealed = envelope::seal(key, 1, bytes("abc"), "ctx");
  std::vector<std::uint8_t> out(3, 0xee);
  ASSERT_TRUE(envelope::open_into(key.span(), sealed, "ctx", out));
  EXPECT_EQ(out, (std::vector<std::uint8_t>{'a', 'b', 'c'}));
  out.assign(3, 0xee);
  EXPECT_FALSE(envelope::open_into(key.span(), sealed, "other", out));
  EXPECT_EQ(out, (std::vector<std::uint8_t>(3, 0)));
  std::vector<std::uint8_t> wrong_size(4);
  EXPECT_FALSE(envelope::open_into(key.span(), sealed, "ctx", wrong_size));
}

}  // namespace
}  // namespace hush::crypto
