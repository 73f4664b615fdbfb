#include <iostream>
#include <memory>
#include <stdexcept>

#include "cli/club_dir.hpp"
#include "cli/commands.hpp"
#include "club/club.hpp"
#include "core/clock.hpp"
#include "crypto/random.hpp"

namespace hush::cli {
namespace {

struct member_options {
  std::string dir;
  std::string name;
  std::string role = "reader";
  bool password_stdin = false;
};

// The password for add/passwd: read from stdin, or generated and printed once.
secret_string new_password(const member_options& options, bool& generated) {
  generated = !options.password_stdin;
  if (!options.password_stdin) {
    return secret_string(crypto::random_password());
  }
  secret_string password(read_stdin_line());
  if (password.view().size() < club::min_password_size ||
      password.view().size() > club::max_password_size) {
    throw std::runtime_error("a password must be " + std::to_string(club::min_password_size) +
                             " to " + std::to_string(club::max_password_size) + " bytes long");
  }
  return password;
}

void run_add(const member_options& options) {
  store::role r{};
  if (!store::parse_role(options.role, r)) {
    throw std::runtime_error("role must be reader, poster or admin, not \"" + options.role + "\"");
  }
  if (!club::valid_member_name(options.name)) {
    throw std::runtime_error("a member name is 1 to 64 of the characters A-Z a-z 0-9 . _ -");
  }
  auto club = open_club(resolve_dir(options.dir));
  bool generated = false;
  const auto password = new_password(options, generated);
  if (auto added = club->domain->add_member(options.name, r, password.view()); !added) {
    throw std::runtime_error(explain(added.error(), "member " + options.name));
  }
  std::cout << "Added member \"" << options.name << "\" (" << store::to_string(r) << ")";
  if (generated) {
    std::cout << ", password shown once: " << password.view();
  }
  std::cout << "\n";
}

void run_list(const member_options& options) {
  auto club = open_club(resolve_dir(options.dir));
  auto members = club->store->list_members();
  if (!members) {
    throw std::runtime_error(explain(members.error(), "members"));
  }
  for (const auto& m : *members) {
    std::cout << m.name << "\t" << store::to_string(m.member_role) << "\t"
              << format_utc(m.created_at) << "\n";
  }
}

void run_remove(const member_options& options) {
  auto club = open_club(resolve_dir(options.dir));
  if (auto removed = club->store->remove_member(options.name, club->clock.now_seconds());
      !removed) {
    throw std::runtime_error(explain(removed.error(), "member " + options.name));
  }
  std::cout << "Removed member \"" << options.name << "\"\n";
}

void run_passwd(const member_options& options) {
  auto club = open_club(resolve_dir(options.dir));
  if (!club->store->find_member(options.name)) {
    throw std::runtime_error("member " + options.name + ": not found");
  }
  bool generated = false;
  const auto password = new_password(options, generated);
  if (auto changed = club->domain->set_password(options.name, password.view()); !changed) {
    throw std::runtime_error(explain(changed.error(), "member " + options.name));
  }
  std::cout << "Changed the password of \"" << options.name << "\"";
  if (generated) {
    std::cout << ", new password shown once: " << password.view();
  }
  std::cout << "\n";
}

}  // namespace

void add_member(CLI::App& app) {
  auto* group = app.add_subcommand("member", "Manage the club's members");
  group->require_subcommand(1);
  const auto with_dir = [](CLI::App* cmd, member_options& options) {
    cmd->add_option("--dir", options.dir, "Club directory (default $HUSH_DIR or ./hush-data)");
  };

  auto add = std::make_shared<member_options>();
  auto* add_cmd = group->add_subcommand("add", "Add a member");
  with_dir(add_cmd, *add);
  add_cmd->add_option("name", add->name, "Member name")->required();
  add_cmd->add_option("--role", add->role, "reader, poster or admin (default reader)");
  add_cmd->add_flag("--password-stdin", add->password_stdin,
                    "Read the password from stdin instead of generating one");
  add_cmd->callback([add] { run_add(*add); });

  auto list = std::make_shared<member_options>();
  auto* list_cmd = group->add_subcommand("list", "List members");
  with_dir(list_cmd, *list);
  list_cmd->callback([list] { run_list(*list); });

  auto remove = std::make_shared<member_options>();
  auto* remove_cmd = group->add_subcommand("remove", "Remove a member; takes effect at once");
  with_dir(remove_cmd, *remove);
  remove_cmd->add_option("name", remove->name, "Member name")->required();
  remove_cmd->callback([remove] { run_remove(*remove); });

  auto passwd = std::make_shared<member_options>();
  auto* passwd_cmd = group->add_subcommand("passwd", "Change a member's password");
  with_dir(passwd_cmd, *passwd);
  passwd_cmd->add_option("name", passwd->name, "Member name")->required();
  passwd_cmd->add_flag("--password-stdin", passwd->password_stdin,
                       "Read the password from stdin instead of generating one");
  passwd_cmd->callback([passwd] { run_passwd(*passwd); });
}

}  // namespace hush::cli
