#include <charconv>
#include <iostream>
#include <memory>
#include <stdexcept>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "app/club_dir.hpp"
#include "cli/commands.hpp"
#include "cli/fernet_key.hpp"
#include "cli/options.hpp"
#include "cli/terminal.hpp"
#include "cli/usage.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/process.hpp"
#include "crypto/fernet.hpp"

namespace hush::cli {
namespace {

// The audit trail names the CLI as the reader of what `message show` prints.
constexpr const char* cli_reader = "(cli)";
constexpr const char* cli_remote = "local";

struct message_options {
  std::string dir;
  std::string text;
  std::string author = "admin";
  std::string id;
  std::size_t limit = 50;
  bool e2e = false;
  std::string key_file;
  bool json = false;
};

// What `message list` calls a message's format: text, or e2e (a Fernet token the club cannot
// open; the API calls it fernet). The same word as `message post --e2e`.
std::string_view format_name(store::message_format format) {
  return format == store::message_format::fernet ? "e2e" : "text";
}

store::message_id parse_id(const std::string& text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    throw usage_error("\"" + text +
                      "\" is not a message id (a whole number from 1, as message list shows)");
  }
  return store::message_id{value};
}

[[noreturn]] void refuse_post(std::error_code ec, const app::opened_club& opened,
                              const message_options& options) {
  if (ec == errc::not_found) {
    throw std::runtime_error("the author \"" + options.author +
                             "\" is not a member (--author names the member who posts)");
  }
  if (ec == errc::invalid_argument) {
    throw std::runtime_error("a message must be non-empty UTF-8 text");
  }
  if (ec == errc::too_large) {
    throw std::runtime_error("the message is larger than limits.max_message_bytes (" +
                             std::to_string(opened.cfg.max_message_bytes) + ")");
  }
  throw std::runtime_error(explain(ec, "message"));
}

// The text is checked and encrypted here, on the poster's side: the club stores the token and
// never sees the key or the plaintext.
result<store::message_id> post_e2e(app::opened_club& opened, const message_options& options,
                                   std::string_view text) {
  const auto key = read_fernet_key(options.key_file);
  if (text.empty() || !hush::club::valid_utf8(text)) {
    return make_error_code(errc::invalid_argument);
  }
  if (text.size() > opened.cfg.max_message_bytes) {
    return make_error_code(errc::too_large);
  }
  const auto token = crypto::fernet::encrypt(
      key, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
      opened.clock.now_seconds());
  if (!token) {
    return token.error();
  }
  return opened.domain->post_fernet(options.author, *token);
}

// A text on the command line is in /proc/PID/cmdline for every local user to read: take it out
// before anything slow happens, and say how to avoid the window that remains.
secret_string take_text(message_options& options) {
  if (options.text.empty() || options.text == "-") {
    return secret_string(read_stdin_all());
  }
  process::hide_arg(options.text);
  std::cerr << "hush: warning: a message on the command line can be seen by other local users "
               "(ps) and stays in shell history; pipe it on standard input instead\n";
  secret_string text(options.text);
  secure_zero(options.text.data(), options.text.size());
  options.text.clear();
  return text;
}

void run_post(message_options& options) {
  secret_string text = take_text(options);
  auto club = app::open_club(club_dir(options.dir));
  auto id = options.e2e ? post_e2e(*club, options, text.view())
                        : club->domain->post(options.author, text.view());
  if (!id) {
    refuse_post(id.error(), *club, options);
  }
  std::cout << id->value << "\n";
}

void run_list(const message_options& options) {
  auto club = app::open_club(club_dir(options.dir));
  auto page = club->domain->list(std::nullopt, options.limit);
  if (!page) {
    throw std::runtime_error(explain(page.error(), "messages"));
  }
  if (options.json) {
    boost::json::array items;
    for (const auto& m : *page) {
      items.push_back({{"id", m.id.value},
                       {"created", format_utc(m.created_at)},
                       {"author", m.author},
                       {"format", format_name(m.format)}});
    }
    print_json({{"messages", std::move(items)}});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : *page) {
    rows.push_back({std::to_string(m.id.value), format_utc(m.created_at), m.author,
                    std::string(format_name(m.format))});
  }
  print_table({"ID", "CREATED", "AUTHOR", "FORMAT"}, rows);
}

void run_show(const message_options& options) {
  const auto id = parse_id(options.id);
  auto club = app::open_club(club_dir(options.dir));
  auto found = club->domain->read(id, cli_reader, cli_remote);
  if (!found) {
    throw std::runtime_error(explain(found.error(), "message " + options.id));
  }
  if (auto audited = club->domain->commit_read_now(std::move(found->audit)); !audited) {
    throw std::runtime_error(explain(audited.error(), "audit"));
  }
  std::cout << found->body.view() << "\n";
}

void run_rm(const message_options& options) {
  const auto id = parse_id(options.id);
  auto club = app::open_club(club_dir(options.dir));
  if (auto removed = club->domain->remove(id); !removed) {
    throw std::runtime_error(explain(removed.error(), "message " + options.id));
  }
  std::cout << "Removed message " << id.value << "\n";
}

}  // namespace

void add_message(CLI::App& app) {
  auto* group = app.add_subcommand("message", "Post, list, show and remove messages");
  group->require_subcommand(1);
  const auto with_dir = [](CLI::App* cmd, message_options& options) {
    add_dir_option(*cmd, options.dir);
  };

  auto post = std::make_shared<message_options>();
  auto* post_cmd = group->add_subcommand(
      "post",
      "Post a message read from standard input (echo ... | hush message post); prints its id");
  with_dir(post_cmd, *post);
  post_cmd->add_option("text", post->text,
                       "The message; without it (or with -) it is read from standard input, which "
                       "other local users cannot see");
  post_cmd->add_option("--author", post->author, "Name shown as the author (default admin)");
  auto* e2e = post_cmd->add_flag("--e2e", post->e2e,
                                 "End to end: store a Fernet token that only key holders can open");
  auto* key_file = post_cmd->add_option("--key-file", post->key_file,
                                        "The Fernet key for --e2e (a private file)");
  e2e->needs(key_file);
  key_file->needs(e2e);
  post_cmd->callback([post] { run_post(*post); });

  auto list = std::make_shared<message_options>();
  auto* list_cmd = group->add_subcommand("list", "List messages, newest first");
  with_dir(list_cmd, *list);
  list_cmd->add_option("--limit", list->limit, "How many (default 50)")
      ->check(CLI::Range(1, 100000));
  add_json_flag(*list_cmd, list->json);
  list_cmd->callback([list] { run_list(*list); });

  auto show = std::make_shared<message_options>();
  auto* show_cmd = group->add_subcommand("show", "Print a message (recorded in the audit trail)");
  with_dir(show_cmd, *show);
  show_cmd->add_option("id", show->id, "Message id")->required();
  show_cmd->callback([show] { run_show(*show); });

  auto rm = std::make_shared<message_options>();
  auto* rm_cmd = group->add_subcommand("rm", "Remove a message");
  with_dir(rm_cmd, *rm);
  rm_cmd->add_option("id", rm->id, "Message id")->required();
  rm_cmd->callback([rm] { run_rm(*rm); });
}

}  // namespace hush::cli
