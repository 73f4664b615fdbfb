#include "crypto/encoding.hpp"

#include <gtest/gtest.h>

namespace hush::crypto {
namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// RFC 4648 section 10 test vectors.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(bytes(plain)), encoded);
    const auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(decoded->view(), plain);
  }
}

TEST(Base64, RejectsMalformed) {
  EXPECT_FALSE(base64_decode("Zm9v!").has_value());
  EXPECT_FALSE(base64_decode("Zg=").has_value());
  EXPECT_FALSE(base64_decode("Zm9vYg==trailing").has_value());
}

// Found by fuzz_fernet: libsodium alone decodes "\xdf" as '_' (and every byte above 0x7f as the
// ASCII character below it), which gave one token many spellings.
TEST(Base64, RefusesBytesOutsideTheAlphabet) {
  EXPECT_TRUE(base64url_decode("-_-_").has_value());
  EXPECT_FALSE(base64url_decode("-_-\xdf").has_value());
  EXPECT_FALSE(base64url_decode("\xad_-_").has_value());
  EXPECT_TRUE(base64_decode("Zm9v").has_value());
  EXPECT_FALSE(base64_decode("Zm9\xf6").has_value());
  EXPECT_FALSE(base64_decode("Zm9v\x80").has_value());
  EXPECT_FALSE(base64_decode("Zm 9v").has_value());
}

TEST(Base64Url, UsesUrlAlphabet) {
  const std::uint8_t raw[] = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64_encode(raw), "+/+/");
  EXPECT_EQ(base64url_encode(raw), "-_-_");
  const auto decoded = base64url_decode("-_-_");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->size(), 3U);
  EXPECT_FALSE(base64url_decode("+/+/").has_value());
}

TEST(Hex, Lowercase) {
  const std::uint8_t raw[] = {0x00, 0xab, 0xff};
  EXPECT_EQ(to_hex(raw), "00abff");
}

}  // namespace
}  // namespace hush::crypto
