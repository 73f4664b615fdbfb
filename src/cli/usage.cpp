#include "cli/usage.hpp"

#include <algorithm>

namespace hush::cli {
namespace {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// neighbours (the commonest typo, "memebr") each cost one.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string_view without_dashes(std::string_view word) {
  while (!word.empty() && word.front() == '-') {
    word.remove_prefix(1);
  }
  return word;
}

std::vector<CLI::App*> named_subcommands(CLI::App& app) {
  return app.get_subcommands([](CLI::App* sub) { return !sub->get_name().empty(); });
}

// Every flag spelling of `app` and of its parents (options fall through to them).
std::vector<std::string> flag_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* at = &app; at != nullptr; at = at->get_parent()) {
    for (const auto* opt : at->get_options()) {
      for (const auto& l : opt->get_lnames()) {
        names.push_back("--" + l);
      }
      for (const auto& s : opt->get_snames()) {
        names.push_back("-" + s);
      }
    }
  }
  return names;
}

const CLI::Option* find_flag(const CLI::App& app, const std::string& name) {
  for (const CLI::App* at = &app; at != nullptr; at = at->get_parent()) {
    if (const auto* opt = at->get_option_no_throw(name); opt != nullptr && opt->nonpositional()) {
      return opt;
    }
  }
  return nullptr;
}

// How many words the command's positional arguments take.
std::size_t positional_capacity(const CLI::App& app) {
  std::size_t total = 0;
  for (const auto* opt : app.get_options()) {
    if (opt->get_positional() && !opt->nonpositional()) {
      total += static_cast<std::size_t>(std::max(opt->get_items_expected_max(), 0));
    }
  }
  return total;
}

std::string in_quotes(std::string_view word) {
  return "\"" + std::string(word) + "\"";
}

}  // namespace

std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& names) {
  const auto bare = without_dashes(word);
  if (bare.empty()) {
    return std::nullopt;
  }
  // Near enough: one edit in a short word, up to a third of a longer one.
  const std::size_t allowed = std::max<std::size_t>(1, std::min<std::size_t>(3, bare.size() / 3));
  std::optional<std::string> best;
  std::size_t best_distance = allowed + 1;
  for (const auto& name : names) {
    const auto candidate = without_dashes(name);
    std::size_t distance = edit_distance(bare, candidate);
    // A start of the word ("mem" for member) is as good as one edit.
    if (bare.size() >= 2 && candidate.size() > bare.size() && candidate.starts_with(bare)) {
      distance = std::min<std::size_t>(distance, 1);
    }
    if (distance < best_distance) {
      best_distance = distance;
      best = name;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& names) {
  const auto found = nearest(word, names);
  return found ? "; did you mean " + in_quotes(*found) + "?" : std::string();
}

std::string command_path(const CLI::App& command) {
  std::vector<std::string> words;
  for (const CLI::App* at = &command; at != nullptr; at = at->get_parent()) {
    words.push_back(at->get_name());
  }
  std::string path;
  for (auto word = words.rbegin(); word != words.rend(); ++word) {
    if (!path.empty()) {
      path += ' ';
    }
    path += *word;
  }
  return path;
}

refusal diagnose(CLI::App& root, const std::vector<std::string>& args) {
  refusal out{&root, {}, false};
  CLI::App* current = &root;
  std::size_t positionals = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& word = args[i];
    if (word == "--") {
      break;  // the rest are values, whatever they look like
    }
    if (word.size() > 1 && word.front() == '-') {
      const auto name = word.substr(0, word.find('='));
      const auto* opt = find_flag(*current, name);
      if (opt == nullptr) {
        out.reason = "unknown option " + in_quotes(name) + " for " + command_path(*current) +
                     did_you_mean(name, flag_names(*current));
        return out;
      }
      // An option's value is the next word, unless it came as --name=value.
      if (opt->get_items_expected_max() > 0 && name.size() == word.size()) {
        ++i;
      }
      continue;
    }
    const auto subs = named_subcommands(*current);
    const auto chosen = std::find_if(subs.begin(), subs.end(),
                                     [&](const CLI::App* sub) { return sub->check_name(word); });
    if (chosen != subs.end()) {
      current = *chosen;
      out.command = current;
      positionals = 0;
      continue;
    }
    if (positionals < positional_capacity(*current)) {
      ++positionals;
      continue;
    }
    if (!subs.empty()) {
      std::vector<std::string> names;
      names.reserve(subs.size());
      for (const auto* sub : subs) {
        names.push_back(sub->get_name());
      }
      out.reason = "unknown command " + in_quotes(word) + " for " + command_path(*current) +
                   did_you_mean(word, names);
      return out;
    }
    out.reason = "unexpected argument " + in_quotes(word) + " for " + command_path(*current);
    return out;
  }
  out.needs_subcommand = !named_subcommands(*current).empty();
  return out;
}

}  // namespace hush::cli
