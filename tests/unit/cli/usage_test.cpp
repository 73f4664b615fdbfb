#include "cli/usage.hpp"

#include <gtest/gtest.h>

namespace hush::cli {
namespace {

TEST(Nearest, TyposSwapsAndStartsFindTheName) {
  const std::vector<std::string> commands{"init", "serve", "member", "message", "token", "ca"};
  EXPECT_EQ(nearest("memebr", commands), "member");   // a swap
  EXPECT_EQ(nearest("mesage", commands), "message");  // a letter missing
  EXPECT_EQ(nearest("tokne", commands), "token");
  EXPECT_EQ(nearest("mem", commands), "member");  // a start
  EXPECT_EQ(nearest("serv", commands), "serve");
  EXPECT_EQ(nearest("--lmit", {"--limit", "--dir", "--json"}), "--limit");
  EXPECT_EQ(nearest("-json", {"--limit", "--dir", "--json"}), "--json");
}

TEST(Nearest, NothingFarAway) {
  const std::vector<std::string> commands{"init", "serve", "member", "message"};
  EXPECT_EQ(nearest("frobnicate", commands), std::nullopt);
  EXPECT_EQ(nearest("", commands), std::nullopt);
  EXPECT_EQ(nearest("--", commands), std::nullopt);
  EXPECT_EQ(nearest("x", commands), std::nullopt);
  EXPECT_EQ(did_you_mean("boss", {"reader", "poster", "admin"}), "");
  EXPECT_EQ(did_you_mean("Admin", {"reader", "poster", "admin"}), "; did you mean \"admin\"?");
}

class DiagnoseTest : public ::testing::Test {
 protected:
  DiagnoseTest() {
    root.require_subcommand(1);
    root.add_option("--dir", dir);
    root.fallthrough();
    auto* member = root.add_subcommand("member", "");
    member->require_subcommand(1);
    auto* add = member->add_subcommand("add", "");
    add->add_option("name", name)->required();
    add->add_option("--role", role);
    add->add_flag("--password-stdin", flag);
    member->add_subcommand("list", "");
  }
  refusal run(std::vector<std::string> args) { return diagnose(root, args); }

  CLI::App root{"test", "hush"};
  std::string dir, name, role;
  bool flag = false;
};

TEST_F(DiagnoseTest, NamesUnknownCommandsWhereTheyStand) {
  auto r = run({"memebr", "list"});
  EXPECT_EQ(r.reason, "unknown command \"memebr\" for hush; did you mean \"member\"?");
  EXPECT_EQ(r.command, &root);
  r = run({"--dir", "list", "member", "lst"});  // an option's value is no command
  EXPECT_EQ(r.reason, "unknown command \"lst\" for hush member; did you mean \"list\"?");
  EXPECT_EQ(command_path(*r.command), "hush member");
}

TEST_F(DiagnoseTest, NamesUnknownOptionsAndKnowsTheParents) {
  auto r = run({"member", "add", "bob", "--rol", "admin"});
  EXPECT_EQ(r.reason, "unknown option \"--rol\" for hush member add; did you mean \"--role\"?");
  // The root's --dir is known from anywhere, with its value, in either form.
  r = run({"member", "add", "--dir", "d", "bob", "--role=admin", "--password-stdin"});
  EXPECT_EQ(r.reason, "");
  EXPECT_FALSE(r.needs_subcommand);
  r = run({"member", "add", "bob", "--dri=d"});
  EXPECT_EQ(r.reason, "unknown option \"--dri\" for hush member add; did you mean \"--dir\"?");
}

TEST_F(DiagnoseTest, ExtraArgumentsAndGroupsWithoutACommand) {
  EXPECT_EQ(run({"member", "add", "bob", "carol"}).reason,
            "unexpected argument \"carol\" for hush member add");
  auto r = run({"member"});
  EXPECT_EQ(r.reason, "");
  EXPECT_TRUE(r.needs_subcommand);
  EXPECT_EQ(command_path(*r.command), "hush member");
  r = run({"--dir", "d"});
  EXPECT_TRUE(r.needs_subcommand);
  EXPECT_EQ(r.command, &root);
  // After "--" nothing is taken for an option.
  EXPECT_EQ(run({"member", "add", "--", "--odd"}).reason, "");
}

}  // namespace
}  // namespace hush::cli
