#include "core/log.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
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

// 2026-11-30T11:43:01.123456Z, and nanoseconds past it that the log does not show.
std::chrono::system_clock::time_point sample_time() {
  using namespace std::chrono;
  return sys_days{year{2026} / November / 30} + hours{11} + minutes{43} + seconds{1} +
         microseconds{123456} + nanoseconds{789};
}

TEST(LogRfc3339, UtcWithMicrosecondsAndZ) {
  EXPECT_EQ(rfc3339(sample_time()), "2026-11-30T11:43:01.123456Z");
  EXPECT_EQ(rfc3339(std::chrono::system_clock::time_point{}), "1970-01-01T00:00:00.000000Z");
  // Whole seconds still carry six digits; a microsecond before the epoch is the day before.
  using namespace std::chrono;
  EXPECT_EQ(rfc3339(sys_days{year{2000} / February / 29} + hours{23} + minutes{59} + seconds{59}),
            "2000-02-29T23:59:59.000000Z");
  EXPECT_EQ(rfc3339(system_clock::time_point{} - microseconds{1}), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(rfc3339(sys_days{year{2026} / January / 1} + microseconds{7}),
            "2026-01-01T00:00:00.000007Z");
}

TEST(LogLevels, ParseLevel) {
  EXPECT_EQ(parse_level("debug"), level::debug);
  EXPECT_EQ(parse_level("info"), level::info);
  EXPECT_EQ(parse_level("warn"), level::warn);
  EXPECT_EQ(parse_level("error"), level::error);
  for (const char* bad : {"", "INFO", "Info", "warning", "fatal", " info", "info ", "trace"}) {
    EXPECT_EQ(parse_level(bad), std::nullopt) << bad;
  }
}

TEST(LogFormats, ParseFormat) {
  EXPECT_EQ(parse_format("text"), format::text);
  EXPECT_EQ(parse_format("json"), format::json);
  for (const char* bad : {"", "JSON", "Text", "logfmt", "json ", "plain"}) {
    EXPECT_EQ(parse_format(bad), std::nullopt) << bad;
  }
}

// A text line split back into its parts: time, level, event, then each key=value, a quoted value
// unquoted (\" is a quote in it, \\ a backslash kept as escape() wrote it). What a log reader
// (fail2ban, a person with awk) relies on.
struct text_line {
  std::string time, lvl, event;
  std::vector<std::pair<std::string, std::string>> fields;
};

std::optional<text_line> split_text_line(std::string_view line) {
  if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
    return std::nullopt;
  }
  text_line out;
  const auto word = [&]() {
    const auto space = line.find(' ');
    std::string w(line.substr(0, space));
    line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    return w;
  };
  out.time = word();
  out.lvl = word();
  out.event = word();
  while (!line.empty()) {
    const auto equals = line.find('=');
    if (equals == std::string_view::npos) {
      return std::nullopt;
    }
    std::string key(line.substr(0, equals));
    line.remove_prefix(equals + 1);
    std::string value;
    if (!line.empty() && line.front() == '"') {
      std::size_t i = 1;
      for (; i < line.size() && line[i] != '"'; ++i) {
        // escape() doubles every backslash of the client's; the quoting adds one before a quote.
        if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
          if (line[i + 1] == '\\') {
            value.push_back('\\');
          }
          ++i;
        }
        value.push_back(line[i]);
      }
      if (i == line.size()) {
        return std::nullopt;  // no closing quote
      }
      line.remove_prefix(i + 1);
      if (!line.empty()) {
        if (line.front() != ' ') {
          return std::nullopt;
        }
        line.remove_prefix(1);
      }
    } else {
      value = word();
    }
    out.fields.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

TEST(LogRenderText, TimeLevelEventThenFields) {
  EXPECT_EQ(render(format::text, level::info, sample_time(), "access",
                   {{"client", "203.0.113.7"}, {"status", std::int64_t{200}}, {"path", "/"}}),
            "2026-11-30T11:43:01.123456Z info access client=203.0.113.7 status=200 path=/");
  EXPECT_EQ(render(format::text, level::warn, sample_time(), "auth-failed", {}),
            "2026-11-30T11:43:01.123456Z warn auth-failed");
  EXPECT_EQ(render(format::text, level::error, sample_time(), "x", {{"n", std::int64_t{-5}}}),
            "2026-11-30T11:43:01.123456Z error x n=-5");
  EXPECT_EQ(render(format::text, level::debug, sample_time(), "x", {}).substr(28, 5), "debug");
}

TEST(LogRenderText, ValuesWithASpaceAQuoteAnEqualsSignOrNothingAreQuoted) {
  const auto value_of = [](std::string_view value) {
    const auto line = render(format::text, level::info, sample_time(), "e", {{"k", value}});
    return line.substr(line.find(" k=") + 3);
  };
  EXPECT_EQ(value_of("plain"), "plain");
  EXPECT_EQ(value_of("a b"), "\"a b\"");
  EXPECT_EQ(value_of("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(value_of("a=b"), "\"a=b\"");
  EXPECT_EQ(value_of(""), "\"\"");
  EXPECT_EQ(value_of("\""), "\"\\\"\"");
  // Escaped bytes are not spaces: a tab becomes \x09 and needs no quotes.
  EXPECT_EQ(value_of("a\tb"), "a\\x09b");
  EXPECT_EQ(value_of("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(LogRenderText, AClientsTextCannotForgeALineOrAField) {
  const std::vector<std::string> hostile = {
      "x\n2026-11-30T11:43:01.123456Z warn auth-failed client=10.0.0.1",
      "x client=10.0.0.1",
      "x\" client=\"10.0.0.1",
      "x\\\" client=10.0.0.1 \\",
      "\\",
      "a\r\nb",
      std::string("nul\0byte", 8),
      "\x1b[2J\x1b]0;title\x07",
      "\xc2\x85next line",
      "\xe2\x80\xa8 line separator",
      "\xff\xfe not utf-8 \xc0\xaf",
      "=",
      "\"",
      "k=v k2=v2",
  };
  for (const auto& text : hostile) {
    const auto line = render(format::text, level::info, sample_time(), "access",
                             {{"path", text}, {"member", "alice"}, {"status", std::int64_t{404}}});
    EXPECT_FALSE(has_control_character(line)) << line;
    const auto parts = split_text_line(line);
    ASSERT_TRUE(parts) << line;
    EXPECT_EQ(parts->time, "2026-11-30T11:43:01.123456Z");
    EXPECT_EQ(parts->lvl, "info");
    EXPECT_EQ(parts->event, "access");
    ASSERT_EQ(parts->fields.size(), 3U) << line;
    EXPECT_EQ(parts->fields[0].first, "path");
    EXPECT_EQ(parts->fields[0].second, escape(text)) << line;
    EXPECT_EQ(parts->fields[1], (std::pair<std::string, std::string>{"member", "alice"})) << line;
    EXPECT_EQ(parts->fields[2], (std::pair<std::string, std::string>{"status", "404"})) << line;
  }
}

TEST(LogRenderText, TheEventNameIsEscapedToo) {
  // write() passes a whole line as the event: it is escaped like any value.
  const auto line = render(format::text, level::warn, sample_time(), "bad\nline\x1b", {});
  EXPECT_EQ(line, "2026-11-30T11:43:01.123456Z warn bad\\x0aline\\x1b");
  EXPECT_FALSE(has_control_character(line));
}

TEST(LogRenderJson, StableNamesAndFieldsInOrder) {
  const auto line = render(format::json, level::warn, sample_time(), "auth-failed",
                           {{"client", "203.0.113.7"}, {"status", std::int64_t{401}}});
  EXPECT_EQ(line,
            "{\"time\":\"2026-11-30T11:43:01.123456Z\",\"level\":\"warn\",\"event\":"
            "\"auth-failed\",\"client\":\"203.0.113.7\",\"status\":401}");
  const auto parsed = boost::json::parse(line).as_object();
  ASSERT_EQ(parsed.size(), 5U);
  auto it = parsed.begin();
  EXPECT_EQ((it++)->key(), "time");
  EXPECT_EQ((it++)->key(), "level");
  EXPECT_EQ((it++)->key(), "event");
  EXPECT_EQ(parsed.at("status").as_int64(), 401);
  for (const auto lvl : {level::debug, level::info, level::warn, level::error}) {
    const auto obj = boost::json::parse(render(format::json, lvl, sample_time(), "e", {}));
    EXPECT_EQ(parse_level(std::string(obj.at("level").as_string())), lvl);
  }
}

TEST(LogRenderJson, EveryLineParsesAndHoldsTheClientsTextEscaped) {
  const std::vector<std::string> hostile = {
      "",
      "plain",
      "x\",\"member\":\"admin",
      "x\"}\n{\"time\":\"forged\"",
      "back\\slash\\",
      "\\u0000",
      std::string("nul\0byte", 8),
      "\x1b[2J\x07\x7f",
      "\xc2\x85\xc2\x9b",
      "\xff\xfe\xc0\xaf\xed\xa0\x80",
      "\xe2\x80\xa8\xe2\x80\xa9",
      "caf\xc3\xa9 \xf0\x9f\x94\x91",
  };
  for (const auto& text : hostile) {
    const auto line = render(format::json, level::info, sample_time(), text,
                             {{"path", text}, {"member", "alice"}, {"bytes", std::int64_t{0}}});
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_FALSE(has_control_character(line)) << line;
    boost::system::error_code ec;
    const auto value = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    const auto& obj = value.as_object();
    EXPECT_EQ(obj.size(), 6U) << line;
    EXPECT_EQ(obj.at("time").as_string(), "2026-11-30T11:43:01.123456Z");
    EXPECT_EQ(obj.at("level").as_string(), "info");
    EXPECT_EQ(obj.at("event").as_string(), escape(text)) << line;
    EXPECT_EQ(obj.at("path").as_string(), escape(text)) << line;
    EXPECT_EQ(obj.at("member").as_string(), "alice") << line;
    EXPECT_EQ(obj.at("bytes").as_int64(), 0);
  }
}

}  // namespace
}  // namespace hush::log
