#include <iostream>
#include <memory>
#include <stdexcept>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "app/club_dir.hpp"
#include "auth/tokens.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/terminal.hpp"
#include "cli/usage.hpp"
#include "club/club.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace hush::cli {
namespace {

struct token_options {
  std::string dir;
  std::string name;
  std::string member;
  std::string expires;
  bool json = false;
};

void run_create(const token_options& options) {
  if (!club::valid_member_name(options.name)) {
    throw usage_error("a token name is 1 to 64 of the characters A-Z a-z 0-9 . _ -, not \"" +
                      options.name + "\"");
  }
  std::int64_t lifetime = 0;
  if (!options.expires.empty()) {
    const auto parsed = auth::parse_duration(options.expires);
    if (!parsed) {
      throw usage_error("--expires takes a duration like 30d, 12h, 90m or 3600s, not \"" +
                        options.expires + "\"");
    }
    lifetime = *parsed;
  }
  auto club = app::open_club(club_dir(options.dir));
  auto made = club->domain->create_token(options.name, options.member, lifetime);
  if (!made) {
    throw std::runtime_error(explain(made.error(), made.error() == errc::not_found
                                                       ? "member " + options.member
                                                       : "token " + options.name));
  }
  std::cout << "Token \"" << options.name << "\" for " << options.member
            << (lifetime == 0 ? std::string(", no expiry")
                              : ", expires " + format_utc(made->record.expires_at))
            << ", shown once:\n"
            << made->value.view() << "\n";
}

void run_list(const token_options& options) {
  auto club = app::open_club(club_dir(options.dir));
  auto tokens = club->domain->list_tokens();
  if (!tokens) {
    throw std::runtime_error(explain(tokens.error(), "tokens"));
  }
  if (options.json) {
    boost::json::array items;
    for (const auto& t : *tokens) {
      boost::json::object item{
          {"name", t.name}, {"member", t.member}, {"created", format_utc(t.created_at)}};
      if (t.expires_at == 0) {
        item["expires"] = nullptr;
      } else {
        item["expires"] = format_utc(t.expires_at);
      }
      items.push_back(std::move(item));
    }
    print_json({{"tokens", std::move(items)}});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : *tokens) {
    rows.push_back({t.name, t.member, format_utc(t.created_at),
                    t.expires_at == 0 ? std::string("never") : format_utc(t.expires_at)});
  }
  print_table({"NAME", "MEMBER", "CREATED", "EXPIRES"}, rows);
}

void run_revoke(const token_options& options) {
  auto club = app::open_club(club_dir(options.dir));
  if (auto removed = club->domain->revoke_token(options.name); !removed) {
    throw std::runtime_error(explain(removed.error(), "token " + options.name));
  }
  std::cout << "Revoked token \"" << options.name << "\"\n";
}

}  // namespace

void add_token(CLI::App& app) {
  auto* group = app.add_subcommand("token", "API tokens for scripts (Authorization: Bearer)");
  group->require_subcommand(1);
  const auto with_dir = [](CLI::App* cmd, token_options& options) {
    add_dir_option(*cmd, options.dir);
  };

  auto create = std::make_shared<token_options>();
  auto* create_cmd = group->add_subcommand("create", "Make a token for a member; shown once");
  with_dir(create_cmd, *create);
  create_cmd->add_option("name", create->name, "Token name")->required();
  create_cmd->add_option("--member", create->member, "The member it acts as")->required();
  create_cmd->add_option("--expires", create->expires, "Lifetime: 30d, 12h, 90m or 3600s");
  create_cmd->callback([create] { run_create(*create); });

  auto list = std::make_shared<token_options>();
  auto* list_cmd = group->add_subcommand("list", "List tokens (never their values)");
  with_dir(list_cmd, *list);
  add_json_flag(*list_cmd, list->json);
  list_cmd->callback([list] { run_list(*list); });

  auto revoke = std::make_shared<token_options>();
  auto* revoke_cmd = group->add_subcommand("revoke", "Revoke a token; takes effect at once");
  with_dir(revoke_cmd, *revoke);
  revoke_cmd->add_option("name", revoke->name, "Token name")->required();
  revoke_cmd->callback([revoke] { run_revoke(*revoke); });
}

}  // namespace hush::cli
