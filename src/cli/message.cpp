#include <charconv>
#include <iostream>
#include <memory>
#include <stdexcept>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "app/club_dir.hpp"
#include "auth/tokens.hpp"
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
  // The message's life (post): --expires, --max-reads, --to.
  std::string expires;
  std::uint32_t max_reads = 0;
  std::string to;
  // show --reads: the read receipts instead of the body.
  bool reads = false;
};

// --expires, --max-reads and --to as the club takes them; a usage error for a malformed one.
hush::club::message_life life_of(const message_options& options) {
  hush::club::message_life life;
  if (!options.expires.empty()) {
    const auto seconds = auth::parse_duration(options.expires);
    if (!seconds || *seconds <= 0 || *seconds > hush::club::max_expires_in_seconds) {
      throw usage_error("--expires takes a duration like 1h, 30m, 2d or 90s, at most 366d, not \"" +
                        options.expires + "\"");
    }
    life.expires_in = *seconds;
  }
  life.max_reads = options.max_reads;
  // Every word between commas, empty ones too ("bob," names someone who is not there): the rules
  // refuse those rather than guess.
  for (std::string_view rest = options.to; !options.to.empty();) {
    const auto comma = rest.find(',');
    life.to.emplace_back(rest.substr(0, comma));
    if (comma == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(comma + 1);
  }
  if (auto problem = hush::club::life_problem(life); !problem.empty()) {
    throw usage_error((options.to.empty() ? "" : "--to " + options.to + ": ") + problem);
  }
  return life;
}

// What applies to a message, for list: "expires 2026-12-01T14:00:00Z, 1 of 3 reads left, to bob
// and role:admin"; "-" for nothing.
std::string terms_text(const store::message_summary& m) {
  std::string out;
  const auto add = [&out](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (m.terms.expires_at != 0) {
    add("expires " + format_utc(m.terms.expires_at));
  }
  if (m.terms.max_reads != 0) {
    add(std::to_string(hush::club::reads_left(m.terms, m.reads)) + " of " +
        std::to_string(m.terms.max_reads) + " reads left");
  }
  if (!m.terms.to.empty()) {
    std::string to;
    for (const auto& r : m.terms.to) {
      to += to.empty() ? "to " : " and ";
      to += hush::club::recipient_text(r);
    }
    add(to);
  }
  return out.empty() ? "-" : out;
}

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
  return opened.domain->post_fernet(options.author, *token, life_of(options));
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
  const auto life = life_of(options);
  secret_string text = take_text(options);
  auto club = app::open_club(club_dir(options.dir));
  auto id = options.e2e ? post_e2e(*club, options, text.view())
                        : club->domain->post(options.author, text.view(), life);
  if (!id) {
    if (id.error() == errc::not_found) {
      if (auto unknown = club->domain->unknown_recipient(life)) {
        throw std::runtime_error("--to names \"" + *unknown + "\", who is not a member");
      }
    }
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
      boost::json::object item{{"id", m.id.value},
                               {"created", format_utc(m.created_at)},
                               {"author", m.author},
                               {"format", format_name(m.format)}};
      // Every key always there (docs/operations.md, "Lists"): null where nothing applies.
      item["expires"] = m.terms.expires_at != 0 ? boost::json::value(format_utc(m.terms.expires_at))
                                                : boost::json::value(nullptr);
      item["max_reads"] = m.terms.max_reads != 0 ? boost::json::value(m.terms.max_reads)
                                                 : boost::json::value(nullptr);
      item["reads"] = m.reads;
      if (m.terms.to.empty()) {
        item["to"] = nullptr;
      } else {
        boost::json::array to;
        for (const auto& r : m.terms.to) {
          to.emplace_back(hush::club::recipient_text(r));
        }
        item["to"] = std::move(to);
      }
      items.push_back(std::move(item));
    }
    print_json({{"messages", std::move(items)}});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : *page) {
    rows.push_back({std::to_string(m.id.value), format_utc(m.created_at), m.author,
                    std::string(format_name(m.format)), terms_text(m)});
  }
  print_table({"ID", "CREATED", "AUTHOR", "FORMAT", "LIFE"}, rows);
}

// Who read the message and when, from the audit trail; for a message that is gone too (burned,
// expired or removed), since the trail outlives it.
void run_reads(const message_options& options, store::message_id id) {
  constexpr std::size_t max_receipts = 100000;
  auto club = app::open_club(club_dir(options.dir));
  auto reads = club->domain->reads_of(id, max_receipts);
  if (!reads) {
    throw std::runtime_error(explain(reads.error(), "audit"));
  }
  if (options.json) {
    boost::json::array items;
    for (const auto& r : *reads) {
      items.push_back({{"reader", r.member}, {"at", format_utc(r.at)}, {"remote", r.remote}});
    }
    print_json({{"reads", std::move(items)}});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : *reads) {
    rows.push_back({format_utc(r.at), r.member, r.remote});
  }
  print_table({"AT", "READER", "REMOTE"}, rows);
}

void run_show(const message_options& options) {
  const auto id = parse_id(options.id);
  if (options.reads) {
    run_reads(options, id);
    return;
  }
  auto club = app::open_club(club_dir(options.dir));
  // The operator's read: it never uses up one of a message's limited reads.
  auto found = club->domain->read_as_operator(id, cli_reader, cli_remote);
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
  post_cmd->add_option("--expires", post->expires,
                       "Gone for everyone after this long: 1h, 30m, 2d or 90s (at most 366d)");
  post_cmd
      ->add_option("--max-reads", post->max_reads,
                   "Gone after this many reads by members other than the author")
      ->check(CLI::Range(1U, hush::club::max_reads_limit));
  post_cmd
      ->add_option("--to", post->to,
                   "Only for these members and roles (and the author): bob,role:admin")
      ->check([](const std::string& value) {
        // An empty list would quietly mean the whole club, the opposite of what --to asks.
        return value.empty() ? std::string("--to needs at least one member or role") : "";
      });
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
  auto* reads =
      show_cmd->add_flag("--reads", show->reads,
                         "Who read it and when (from the audit trail), instead of the message");
  show_cmd->add_flag("--json", show->json, "With --reads: one JSON document instead of the table")
      ->needs(reads);
  show_cmd->callback([show] { run_show(*show); });

  auto rm = std::make_shared<message_options>();
  auto* rm_cmd = group->add_subcommand("rm", "Remove a message");
  with_dir(rm_cmd, *rm);
  rm_cmd->add_option("id", rm->id, "Message id")->required();
  rm_cmd->callback([rm] { run_rm(*rm); });
}

}  // namespace hush::cli
