#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <sys/stat.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "app/club_dir.hpp"
#include "cli/certificates.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/terminal.hpp"
#include "cli/usage.hpp"
#include "club/club.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "crypto/random.hpp"
#include "pki/pki.hpp"

namespace hush::cli {
namespace {

struct member_options {
  std::string dir;
  std::string name;
  std::string role = "reader";
  bool password_stdin = false;
  bool json = false;
};

constexpr const char* name_rule = "a member name is 1 to 64 of the characters A-Z a-z 0-9 . _ -";

// Checked before the club is opened: a name no member can have is a usage error.
void require_member_name(const std::string& name) {
  if (!club::valid_member_name(name)) {
    throw usage_error(name_rule + std::string(", not \"") + name + "\"");
  }
}

store::role parsed_role(const std::string& text) {
  store::role r{};
  if (!store::parse_role(text, r)) {
    // role_validator() has refused it already; this is the same rule, for safety.
    throw usage_error("a role is reader, poster or admin, not \"" + text + "\"");
  }
  return r;
}

struct cert_options {
  std::string dir;
  std::string name;
  std::string revoke;
  std::string out_dir = ".";
  int days = pki::default_client_validity_days;
};

// The password for add/passwd: read from stdin, or generated and printed once.
secret_string new_password(const member_options& options, bool& generated) {
  generated = !options.password_stdin;
  if (!options.password_stdin) {
    return crypto::random_password();
  }
  secret_string password(read_stdin_line());
  if (!club::valid_password_size(password.view())) {
    throw std::runtime_error("a password must be " + std::to_string(club::min_password_size) +
                             " to " + std::to_string(club::max_password_size) + " bytes long");
  }
  return password;
}

void run_add(const member_options& options) {
  const auto r = parsed_role(options.role);
  require_member_name(options.name);
  auto club = app::open_club(club_dir(options.dir));
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
  auto club = app::open_club(club_dir(options.dir));
  auto members = club->domain->list_members();
  if (!members) {
    throw std::runtime_error(explain(members.error(), "members"));
  }
  if (options.json) {
    boost::json::array items;
    for (const auto& m : *members) {
      items.push_back({{"name", m.name},
                       {"role", store::to_string(m.member_role)},
                       {"created", format_utc(m.created_at)}});
    }
    print_json({{"members", std::move(items)}});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : *members) {
    rows.push_back(
        {m.name, std::string(store::to_string(m.member_role)), format_utc(m.created_at)});
  }
  print_table({"NAME", "ROLE", "CREATED"}, rows);
}

void run_role(const member_options& options) {
  const auto r = parsed_role(options.role);
  require_member_name(options.name);
  auto club = app::open_club(club_dir(options.dir));
  const auto old = club->domain->set_role(options.name, r);
  if (!old) {
    if (old.error() == errc::conflict) {
      throw std::runtime_error("member " + options.name +
                               ": is the club's last admin and stays one; make another member "
                               "admin first (hush member role NAME admin)");
    }
    throw std::runtime_error(explain(old.error(), "member " + options.name));
  }
  if (*old == r) {
    std::cout << "Member \"" << options.name << "\" is already " << store::to_string(r) << "\n";
    return;
  }
  std::cout << "Changed the role of \"" << options.name << "\" from " << store::to_string(*old)
            << " to " << store::to_string(r) << "\n";
}

void run_certs(const member_options& options) {
  require_member_name(options.name);
  auto club = app::open_club(club_dir(options.dir));
  auto certs = club->domain->member_certs(options.name);
  if (!certs) {
    throw std::runtime_error(explain(certs.error(), "member " + options.name));
  }
  print_certificates(*certs, options.json);
}

void run_remove(const member_options& options) {
  auto club = app::open_club(club_dir(options.dir));
  // Their certificates are revoked with them, and ca.crl rewritten to say so.
  if (auto removed = club->domain->remove_member(options.name); !removed) {
    throw std::runtime_error(explain(removed.error(), "member " + options.name));
  }
  std::cout << "Removed member \"" << options.name << "\"\n";
}

void run_issue_cert(const cert_options& options) {
  namespace fs = std::filesystem;
  require_member_name(options.name);
  if (options.days < 1 || options.days > pki::max_client_validity_days) {
    throw usage_error("--days must be 1 to " + std::to_string(pki::max_client_validity_days) +
                      ", not " + std::to_string(options.days));
  }
  const fs::path out(options.out_dir);
  const fs::path key_path = out / (options.name + ".key");
  const fs::path cert_path = out / (options.name + ".pem");
  const fs::path p12_path = out / (options.name + ".p12");
  // Checked before anything is issued: no half-written set, and never a key overwritten.
  if (!fs::is_directory(out)) {
    throw std::runtime_error(out.string() + ": not a directory");
  }
  for (const auto& path : {key_path, cert_path, p12_path}) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(path, ec))) {
      throw std::runtime_error(path.string() + " already exists; refusing to overwrite it");
    }
  }
  const auto paths = club_dir(options.dir);
  auto club = app::open_club(paths);
  // Recorded (by the use case) before any file exists, so that every certificate that leaves
  // this command can be found and revoked.
  auto issued = club->domain->issue_client_cert(options.name, options.days);
  if (!issued) {
    throw std::runtime_error(explain(issued.error(), "member " + options.name));
  }
  const pki::key_and_cert leaf{std::move(issued->key_pem), std::move(issued->cert_pem)};
  const auto password = crypto::random_password();
  const auto p12 =
      pki::make_pkcs12(leaf, files::read_text(paths.ca_cert()), password.view(), options.name);
  constexpr mode_t private_file = 0600;
  constexpr mode_t public_file = 0644;
  files::write_new(key_path, leaf.key_pem.view(), private_file);
  files::write_new(cert_path, leaf.cert_pem, public_file);
  files::write_new(p12_path, p12, private_file);
  std::cout << "Certificate for \"" << options.name << "\", serial " << issued->serial
            << ", expires " << format_utc(issued->not_after) << ": " << cert_path.string() << ", "
            << key_path.string() << ", " << p12_path.string() << "\n"
            << "PKCS#12 password shown once: " << password.view() << "\n";
}

void run_cert(const cert_options& options) {
  if (!options.revoke.empty()) {
    revoke_certificate(options.dir, options.revoke);
  } else if (!options.name.empty()) {
    run_issue_cert(options);
  } else {
    throw usage_error("member cert needs a member NAME, or --revoke SERIAL");
  }
}

void run_passwd(const member_options& options) {
  auto club = app::open_club(club_dir(options.dir));
  if (!club->domain->find_member(options.name)) {
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
    add_dir_option(*cmd, options.dir);
  };
  const auto with_name = [](CLI::App* cmd, member_options& options) {
    cmd->add_option("name", options.name, "Member name")->required();
  };

  auto add = std::make_shared<member_options>();
  auto* add_cmd = group->add_subcommand("add", "Add a member");
  with_dir(add_cmd, *add);
  with_name(add_cmd, *add);
  add_cmd->add_option("--role", add->role, "reader, poster or admin (default reader)")
      ->check(role_validator());
  add_cmd->add_flag("--password-stdin", add->password_stdin,
                    "Read the password from stdin instead of generating one");
  add_cmd->callback([add] { run_add(*add); });

  auto list = std::make_shared<member_options>();
  auto* list_cmd = group->add_subcommand("list", "List members");
  with_dir(list_cmd, *list);
  add_json_flag(*list_cmd, list->json);
  list_cmd->callback([list] { run_list(*list); });

  auto remove = std::make_shared<member_options>();
  auto* remove_cmd = group->add_subcommand("remove", "Remove a member; takes effect at once");
  with_dir(remove_cmd, *remove);
  with_name(remove_cmd, *remove);
  remove_cmd->callback([remove] { run_remove(*remove); });

  auto passwd = std::make_shared<member_options>();
  auto* passwd_cmd = group->add_subcommand("passwd", "Change a member's password");
  with_dir(passwd_cmd, *passwd);
  with_name(passwd_cmd, *passwd);
  passwd_cmd->add_flag("--password-stdin", passwd->password_stdin,
                       "Read the password from stdin instead of generating one");
  passwd_cmd->callback([passwd] { run_passwd(*passwd); });

  auto cert = std::make_shared<cert_options>();
  auto* cert_cmd = group->add_subcommand(
      "cert", "Issue a member a client certificate (key, PEM, PKCS#12), or revoke one");
  add_dir_option(*cert_cmd, cert->dir);
  auto* name_opt = cert_cmd->add_option("name", cert->name, "Member name");
  auto* days_opt = cert_cmd->add_option(
      "--days", cert->days,
      "Validity in days (default " + std::to_string(pki::default_client_validity_days) +
          ", at most " + std::to_string(pki::max_client_validity_days) + ")");
  auto* out_opt = cert_cmd->add_option("--out-dir", cert->out_dir,
                                       "Where NAME.key, NAME.pem and NAME.p12 go (default .)");
  cert_cmd
      ->add_option("--revoke", cert->revoke,
                   "Revoke the certificate with this serial (hex), of any kind, and rewrite "
                   "ca.crl (as hush ca revoke)")
      ->excludes(name_opt)
      ->excludes(days_opt)
      ->excludes(out_opt);
  cert_cmd->callback([cert] { run_cert(*cert); });

  auto role = std::make_shared<member_options>();
  auto* role_cmd = group->add_subcommand(
      "role", "Give a member another role; the club's last admin stays one; takes effect at once");
  with_dir(role_cmd, *role);
  with_name(role_cmd, *role);
  role_cmd->add_option("role", role->role, "reader, poster or admin")
      ->required()
      ->check(role_validator());
  role_cmd->callback([role] { run_role(*role); });

  auto certs = std::make_shared<member_options>();
  auto* certs_cmd = group->add_subcommand(
      "certs", "List a member's client certificates: serial, expiry, revocation");
  with_dir(certs_cmd, *certs);
  with_name(certs_cmd, *certs);
  add_json_flag(*certs_cmd, certs->json);
  certs_cmd->callback([certs] { run_certs(*certs); });
}

}  // namespace hush::cli
