#include "crypto/fernet.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "crypto/encoding.hpp"
#include "crypto/random.hpp"

namespace hush::crypto {
namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The spec's vectors, copied into tests/data/fernet so that a fresh clone has them.
boost::json::array vectors(const std::string& name) {
  const auto path = std::filesystem::path(HUSH_TEST_DATA_DIR) / "fernet" / name;
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read " + path.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str()).as_array();
}

std::string str(const boost::json::value& v) {
  return std::string(v.as_string());
}

// "1985-10-26T01:20:00-07:00" -> Unix seconds. The vectors use only this form.
std::int64_t rfc3339(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, oh = 0, om = 0;
  char sign = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d%c%d:%d", &y, &mo, &d, &h, &mi, &s, &sign, &oh,
                  &om) != 9 ||
      (sign != '+' && sign != '-')) {
    throw std::runtime_error("not an RFC 3339 time: " + text);
  }
  using namespace std::chrono;
  const auto days =
      sys_days{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}}
          .time_since_epoch();
  const std::int64_t local = duration_cast<seconds>(days).count() + h * 3600 + mi * 60 + s;
  const std::int64_t offset = (oh * 3600 + om * 60) * (sign == '-' ? -1 : 1);
  return local - offset;
}

std::string flip(const std::string& token, std::size_t byte) {
  auto raw = base64url_decode(token).value();
  raw.data()[byte] ^= 0x01;
  return base64url_encode(raw.span());
}

TEST(FernetVectors, TimesParseAsTheReadmeSays) {
  EXPECT_EQ(rfc3339("1985-10-26T01:20:00-07:00"), 499162800);
}

TEST(FernetVectors, Generate) {
  const auto all = vectors("generate.json");
  ASSERT_FALSE(all.empty());
  for (const auto& v : all) {
    const auto& o = v.as_object();
    std::array<std::uint8_t, fernet::iv_size> iv{};
    const auto& iv_json = o.at("iv").as_array();
    ASSERT_EQ(iv_json.size(), iv.size());
    for (std::size_t i = 0; i < iv.size(); ++i) {
      iv[i] = static_cast<std::uint8_t>(iv_json[i].as_int64());
    }
    const auto key = fernet::parse_key(str(o.at("secret"))).value();
    const auto src = str(o.at("src"));
    const auto token = fernet::encrypt_with_iv(key, bytes(src), rfc3339(str(o.at("now"))), iv);
    ASSERT_TRUE(token);
    EXPECT_EQ(*token, str(o.at("token")));
    EXPECT_EQ(token->size(), fernet::token_size(src.size()));
  }
}

TEST(FernetVectors, Verify) {
  const auto all = vectors("verify.json");
  ASSERT_FALSE(all.empty());
  for (const auto& v : all) {
    const auto& o = v.as_object();
    const auto key = fernet::parse_key(str(o.at("secret"))).value();
    const auto plain = fernet::decrypt(key, str(o.at("token")), o.at("ttl_sec").as_int64(),
                                       rfc3339(str(o.at("now"))));
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->view(), str(o.at("src")));
  }
}

TEST(FernetVectors, Invalid) {
  const auto all = vectors("invalid.json");
  ASSERT_EQ(all.size(), 8U);
  for (const auto& v : all) {
    const auto& o = v.as_object();
    SCOPED_TRACE(str(o.at("desc")));
    const auto key = fernet::parse_key(str(o.at("secret"))).value();
    const auto plain = fernet::decrypt(key, str(o.at("token")), o.at("ttl_sec").as_int64(),
                                       rfc3339(str(o.at("now"))));
    ASSERT_FALSE(plain);
    EXPECT_EQ(plain.error(), errc::crypto_failure);
  }
}

class FernetTest : public ::testing::Test {
 protected:
  secret_bytes key = fernet::parse_key(fernet::generate_key().view()).value();
  std::int64_t now = 1'700'000'000;
};

TEST_F(FernetTest, GeneratedKeysLookLikePythonsAndDiffer) {
  const auto a = fernet::generate_key();
  const auto b = fernet::generate_key();
  EXPECT_EQ(a.view().size(), fernet::encoded_key_size);
  EXPECT_EQ(a.view().back(), '=');
  EXPECT_EQ(a.view().find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="),
            std::string_view::npos);
  EXPECT_NE(a.view(), b.view());
  EXPECT_EQ(fernet::parse_key(a.view()).value().size(), fernet::key_size);
}

TEST_F(FernetTest, MalformedKeysAreRefused) {
  const std::string good = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
  ASSERT_TRUE(fernet::parse_key(good));
  for (const std::string& bad : {
           std::string(), good.substr(0, 43),                            // no padding
           good + "=",                                                   // too long
           " " + good.substr(0, 43),                                     // whitespace
           std::string("cw/0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4="),  // standard alphabet
           std::string("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e=="),  // 31 bytes
           std::string(44, 'A'),                                         // 33 bytes, no padding
       }) {
    SCOPED_TRACE(bad);
    const auto parsed = fernet::parse_key(bad);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error(), errc::invalid_argument);
  }
}

TEST_F(FernetTest, RoundTripAcrossBlockBoundaries) {
  std::string text;
  for (std::size_t size = 0; size <= 49; ++size) {
    SCOPED_TRACE(size);
    const auto token = fernet::encrypt(key, bytes(text), now).value();
    EXPECT_EQ(token.size(), fernet::token_size(size));
    EXPECT_TRUE(fernet::well_formed(token));
    EXPECT_EQ(fernet::decrypt(key, token).value().view(), text);
    EXPECT_EQ(fernet::decrypt(key, token, 0, now).value().view(), text);
    text.push_back(static_cast<char>('a' + size % 26));
  }
}

TEST_F(FernetTest, SamePlaintextEncryptsDifferently) {
  EXPECT_NE(fernet::encrypt(key, bytes("x"), now).value(),
            fernet::encrypt(key, bytes("x"), now).value());
}

TEST_F(FernetTest, TimestampIsBigEndianAtTheFront) {
  const auto raw = base64url_decode(fernet::encrypt(key, bytes("x"), 0x0102030405060708).value());
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->data()[0], fernet::version);
  for (std::size_t i = 1; i <= 8; ++i) {
    EXPECT_EQ(raw->data()[i], i);
  }
}

TEST_F(FernetTest, WrongKeyIsRefused) {
  const auto token = fernet::encrypt(key, bytes("for members"), now).value();
  const auto other = fernet::parse_key(fernet::generate_key().view()).value();
  const auto plain = fernet::decrypt(other, token);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error(), errc::crypto_failure);
  // The same AES half with another HMAC half is refused too: the HMAC is checked first.
  auto half = key;
  half.data()[0] ^= 0x01;
  EXPECT_FALSE(fernet::decrypt(half, token));
}

TEST_F(FernetTest, TamperedByteInEverySectionIsRefused) {
  // version (0), timestamp (1-8), IV (9-24), ciphertext (25-56), HMAC (57-88)
  const auto token = fernet::encrypt(key, bytes("attack at dawn, north gate"), now).value();
  const auto size = base64url_decode(token).value().size();
  ASSERT_EQ(size, 89U);
  for (std::size_t i = 0; i < size; ++i) {
    SCOPED_TRACE(i);
    const auto plain = fernet::decrypt(key, flip(token, i));
    ASSERT_FALSE(plain);
    EXPECT_EQ(plain.error(), errc::crypto_failure);
  }
}

TEST_F(FernetTest, TruncatedOrExtendedTokensAreRefused) {
  const auto token = fernet::encrypt(key, bytes("hello"), now).value();
  auto raw = base64url_decode(token).value();
  for (std::size_t size = 0; size < raw.size(); ++size) {
    SCOPED_TRACE(size);
    EXPECT_FALSE(fernet::decrypt(key, base64url_encode(raw.span().first(size))));
  }
  std::vector<std::uint8_t> longer(raw.span().begin(), raw.span().end());
  longer.push_back(0);
  EXPECT_FALSE(fernet::decrypt(key, base64url_encode(longer)));
}

TEST_F(FernetTest, OnlyCanonicalUrlsafeBase64IsAccepted) {
  // Every token Python makes is urlsafe base64 with padding; Python refuses a token without
  // its padding, and so does hush. Python skips foreign characters; hush refuses them.
  std::string token;
  do {
    token = fernet::encrypt(key, bytes("hi"), now).value();
  } while (token.find_first_of("-_") == std::string::npos);
  ASSERT_EQ(token.back(), '=');
  std::string unpadded = token;
  while (unpadded.back() == '=') {
    unpadded.pop_back();
  }
  std::string standard = token;
  for (auto& c : standard) {
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  for (const auto& bad : {unpadded, standard, " " + token, token + "\n", "%" + token}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(fernet::decrypt(key, bad));
    EXPECT_FALSE(fernet::well_formed(bad));
  }
}

TEST_F(FernetTest, ExpiredTokenIsRefusedUnderATtlOnly) {
  const std::int64_t ttl = 300;
  const auto token = fernet::encrypt(key, bytes("old news"), now).value();
  EXPECT_TRUE(fernet::decrypt(key, token, ttl, now + ttl));  // exactly ttl old: still good
  const auto late = fernet::decrypt(key, token, ttl, now + ttl + 1);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), errc::crypto_failure);
  EXPECT_TRUE(fernet::decrypt(key, token));  // no ttl, no age limit (as Python)
}

TEST_F(FernetTest, FutureTokenIsRefusedBeyondTheClockSkew) {
  const std::int64_t ttl = 60;
  const auto near = fernet::encrypt(key, bytes("soon"), now + fernet::max_clock_skew_seconds);
  const auto far = fernet::encrypt(key, bytes("later"), now + fernet::max_clock_skew_seconds + 1);
  EXPECT_TRUE(fernet::decrypt(key, near.value(), ttl, now));
  EXPECT_FALSE(fernet::decrypt(key, far.value(), ttl, now));
  EXPECT_TRUE(fernet::decrypt(key, far.value()));  // as Python: the skew rule comes with a ttl
}

TEST_F(FernetTest, ExtremeTimesDoNotOverflow) {
  const auto max_stamp = fernet::encrypt(key, bytes("x"), INT64_MAX).value();
  EXPECT_FALSE(fernet::decrypt(key, max_stamp, INT64_MAX, 0));
  EXPECT_TRUE(fernet::decrypt(key, max_stamp, INT64_MAX, INT64_MAX));
  const auto zero_stamp = fernet::encrypt(key, bytes("x"), 0).value();
  EXPECT_TRUE(fernet::decrypt(key, zero_stamp, INT64_MAX, INT64_MAX));
  EXPECT_FALSE(fernet::decrypt(key, zero_stamp, 0, 1));
  EXPECT_FALSE(fernet::encrypt(key, bytes("x"), -1));
}

}  // namespace
}  // namespace hush::crypto
