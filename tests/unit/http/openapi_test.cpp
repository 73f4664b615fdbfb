#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include "http/router.hpp"

// docs/openapi.json against the route table the server follows (http::route_table()), both
// ways: every documented path and method is served, and everything served is documented. The
// document is also checked for what OpenAPI tools trip on: every $ref resolves, every path
// parameter is declared, every operation has an id of its own and responses.
// tests/integration/test_openapi.py asks a running server the same questions and checks its
// answers' shapes against the schemas.

namespace hush::http {
namespace {

namespace json = boost::json;

json::value load_document() {
  std::ifstream in(std::string(HUSH_DOCS_DIR) + "/openapi.json");
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

std::set<std::string> served_methods(std::string_view allow) {
  std::set<std::string> out;
  std::string item;
  std::stringstream in{std::string(allow)};
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    if (item != "HEAD") {  // HEAD wherever GET is; OpenAPI documents the GET
      std::transform(item.begin(), item.end(), item.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      out.insert(item);
    }
  }
  return out;
}

const std::set<std::string> http_methods = {"get",  "put",     "post",  "delete",
                                            "head", "options", "patch", "trace"};

std::map<std::string, std::set<std::string>> documented(const json::value& doc) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    auto& methods = out[std::string(path)];
    for (const auto& [key, operation] : item.as_object()) {
      if (http_methods.contains(std::string(key))) {
        methods.insert(std::string(key));
      }
    }
  }
  return out;
}

void collect_refs(const json::value& v, std::vector<std::string>& refs) {
  if (v.is_object()) {
    for (const auto& [key, child] : v.as_object()) {
      if (key == "$ref" && child.is_string()) {
        refs.emplace_back(child.as_string());
      } else {
        collect_refs(child, refs);
      }
    }
  } else if (v.is_array()) {
    for (const auto& child : v.as_array()) {
      collect_refs(child, refs);
    }
  }
}

TEST(OpenApi, DescribesExactlyTheRoutesTheServerHas) {
  const auto doc = load_document();
  ASSERT_TRUE(std::string_view(doc.at("openapi").as_string()).starts_with("3."));
  auto paths = documented(doc);
  for (const auto& route : route_table()) {
    const std::string path(route.path);
    ASSERT_TRUE(paths.contains(path)) << path << " is served but not in docs/openapi.json";
    EXPECT_EQ(paths[path], served_methods(route.allow)) << path;
    paths.erase(path);
  }
  for (const auto& [path, methods] : paths) {
    ADD_FAILURE() << path << " is in docs/openapi.json but not served";
  }
}

TEST(OpenApi, EveryReferenceResolvesAndEveryOperationIsComplete) {
  const auto doc = load_document();
  std::vector<std::string> refs;
  collect_refs(doc, refs);
  ASSERT_FALSE(refs.empty());
  for (const auto& ref : refs) {
    ASSERT_EQ(ref.rfind("#/", 0), 0U) << ref;
    const json::value* at = &doc;
    std::stringstream parts(ref.substr(2));
    std::string part;
    while (at != nullptr && std::getline(parts, part, '/')) {
      at = at->is_object() ? at->as_object().if_contains(part) : nullptr;
    }
    EXPECT_NE(at, nullptr) << ref << " does not resolve";
  }
  std::set<std::string> ids;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    std::set<std::string> declared;
    const auto declare = [&declared](const json::value& holder) {
      if (const auto* params = holder.as_object().if_contains("parameters")) {
        for (const auto& p : params->as_array()) {
          if (p.at("in").as_string() == "path") {
            declared.insert(std::string(p.at("name").as_string()));
          }
        }
      }
    };
    declare(item);
    for (const auto& [method, operation] : item.as_object()) {
      if (!http_methods.contains(std::string(method))) {
        continue;
      }
      declare(operation);
      const std::string where = std::string(method) + " " + std::string(path);
      EXPECT_TRUE(ids.insert(std::string(operation.at("operationId").as_string())).second) << where;
      EXPECT_FALSE(operation.at("responses").as_object().empty()) << where;
    }
    for (std::size_t open = path.find('{'); open != std::string::npos;
         open = path.find('{', open + 1)) {
      const auto name = std::string(path.substr(open + 1, path.find('}', open) - open - 1));
      EXPECT_TRUE(declared.contains(name)) << path << ": {" << name << "} is not declared";
    }
  }
}

}  // namespace
}  // namespace hush::http
