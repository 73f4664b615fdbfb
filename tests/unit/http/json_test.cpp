#include "http/json.hpp"

#include <string>

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace hush::http {
namespace {

TEST(ParseJson, ParsesWhatBoostJsonParses) {
  const auto v = parse_json(R"({"name":"carol","role":"reader","n":[1,2,{"a":null}]})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->as_object().at("role").as_string(), "reader");
  EXPECT_TRUE(parse_json("[1, 2, 3]"));
  EXPECT_TRUE(parse_json(R"("just a string")"));
  // The same key in sibling or nested objects is no repeat.
  EXPECT_TRUE(parse_json(R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})"));
}

TEST(ParseJson, MalformedTextIsInvalidArgument) {
  for (const std::string text :
       {"", "{", R"({"a":1} {"b":2})", R"({"a":1,})", "nul", R"({"a":1} // comment)"}) {
    const auto v = parse_json(text);
    ASSERT_FALSE(v) << text;
    EXPECT_EQ(v.error(), make_error_code(errc::invalid_argument)) << text;
  }
}

TEST(ParseJson, AKeyTwiceAtAnyDepthIsRefused) {
  for (const std::string text : {
           R"({"role":"reader","role":"admin"})",
           R"({"role":"admin","name":"x","role":"admin"})",
           R"({"outer":{"k":1,"k":2}})",
           R"([{"ok":1},{"k":1,"k":1}])",
           R"({"a":[[{"deep":{"x":1,"y":2,"x":3}}]]})",
           // Escapes are read before keys are compared, as the value would read them.
           R"({"role":"reader","r\u006fle":"admin"})",
           R"({"\u0000":1,"\u0000":2})",
       }) {
    const auto v = parse_json(text);
    ASSERT_FALSE(v) << text;
    EXPECT_EQ(v.error(), make_error_code(errc::invalid_argument)) << text;
  }
}

TEST(ParseJson, LongKeysSplitAcrossPartsAreStillCompared) {
  const std::string key(10000, 'k');
  const auto text = "{\"" + key + "\":1,\"" + key + "\":2}";
  EXPECT_FALSE(parse_json(text));
  EXPECT_TRUE(parse_json("{\"" + key + "\":1,\"" + key + "x\":2}"));
}

}  // namespace
}  // namespace hush::http
