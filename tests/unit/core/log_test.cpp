#include "core/log.hpp"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace hush::log {
namespace {

// True if `text` is not UTF-8 or holds a C0 or C1 control or DEL: what a terminal might act on.
// (A plain decoder, enough for the short strings below.)
bool has_control_character(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t size = 1;
    std::uint32_t code = lead;
    if (lead >= 0xf0) {
      size = 4;
      code = lead & 0x07;
    } else if (lead >= 0xe0) {
      size = 3;
      code = lead & 0x0f;
    } else if (lead >= 0xc0) {
      size = 2;
      code = lead & 0x1f;
    } else if (lead >= 0x80) {
      return true;  // a continuation byte with no lead
    }
    if (i + size > text.size()) {
      return true;
    }
    for (std::size_t k = 1; k < size; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xc0) != 0x80) {
        return true;
      }
      code = (code << 6) | (b & 0x3f);
    }
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
      return true;
    }
    i += size;
  }
  return false;
}

TEST(LogEscape, PlainTextAndUtf8AreUnchanged) {
  EXPECT_EQ(escape("request GET /api/v1/messages/1 from 127.0.0.1"),
            "request GET /api/v1/messages/1 from 127.0.0.1");
  // U+00A0 (C2 A0) is the first code point after the C1 block; the rest is ordinary UTF-8.
  const std::string utf8 = "\xc2\xa0 \xc3\xbc \xe2\x82\xac \xf0\x9f\x94\x91";
  EXPECT_EQ(escape(utf8), utf8);
}

TEST(LogEscape, C0AndDelAreEscaped) {
  EXPECT_EQ(escape("a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d");
  EXPECT_EQ(escape(std::string("\x1b[2J\x7f\0x", 7)), "\\x1b[2J\\x7f\\x00x");
}

TEST(LogEscape, C1ControlsAreEscaped) {
  // U+009B is a terminal's CSI, U+0085 a next line, U+0080 and U+009F the ends of the block.
  EXPECT_EQ(escape("a\xc2\x9b"
                   "2Jb"),
            "a\\xc2\\x9b2Jb");
  EXPECT_EQ(escape("\xc2\x85\xc2\x80\xc2\x9f"), "\\xc2\\x85\\xc2\\x80\\xc2\\x9f");
  // A lone 0x9b is CSI to a terminal in an 8-bit mode.
  EXPECT_EQ(escape("a\x9b"
                   "2J"),
            "a\\x9b2J");
}

TEST(LogEscape, BytesThatAreNotUtf8AreEscaped) {
  EXPECT_EQ(escape("\xc0\xaf"), "\\xc0\\xaf");                    // overlong "/"
  EXPECT_EQ(escape("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(escape("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(escape("\xe2\x82"), "\\xe2\\x82");                    // cut short
  EXPECT_EQ(escape("\xff"), "\\xff");
}

TEST(LogEscape, ABackslashIsEscapedSoNoEscapeCanBeForged) {
  EXPECT_EQ(escape("\\x1b"), "\\\\x1b");
  EXPECT_NE(escape("\\x1b"), escape("\x1b"));
}

TEST(LogEscape, NoByteStringGivesAControlCharacter) {
  // Every one- and two-byte string, and each of them around a C1 lead.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string text{static_cast<char>(a), static_cast<char>(b)};
      ASSERT_FALSE(has_control_character(escape(text))) << a << " " << b;
      ASSERT_FALSE(has_control_character(escape("x" + text + "\xc2"))) << a << " " << b;
    }
  }
}

using namespace std::chrono_literals;

TEST(RateLimitedLog, OneLineAPerIntervalThenTheCountHeldBack) {
  rate_limited limited(1s);
  const rate_limited::clock::time_point t0{};
  EXPECT_EQ(limited.admit("accept failed", t0), "accept failed");
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(limited.admit("accept failed", t0 + 999ms));
  }
  EXPECT_EQ(limited.admit("accept failed", t0 + 1s), "accept failed (1000 more)");
  EXPECT_FALSE(limited.admit("accept failed", t0 + 1500ms));
  EXPECT_EQ(limited.admit("accept failed", t0 + 5s), "accept failed (1 more)");
  EXPECT_EQ(limited.admit("other", t0 + 7s), "other");
}

}  // namespace
}  // namespace hush::log
