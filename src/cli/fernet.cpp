#include "crypto/fernet.hpp"

#include <iostream>
#include <memory>
#include <stdexcept>

#include "cli/commands.hpp"
#include "cli/fernet_key.hpp"
#include "cli/terminal.hpp"
#include "core/clock.hpp"
#include "core/files.hpp"

namespace hush::cli {
namespace {

// One message for every refused token, whatever the reason: a wrong key, a tampered byte and an
// expired stamp look the same from outside, as they do in Python (InvalidToken).
constexpr const char* invalid_token = "invalid or expired token";
constexpr mode_t key_file_mode = 0600;

struct fernet_options {
  std::string out;
  std::string key_file;
  std::int64_t ttl = 0;
};

void run_key(const fernet_options& options) {
  const secret_string key(crypto::fernet::generate_key().str() + "\n");
  if (options.out.empty()) {
    std::cout << key.view();
    return;
  }
  files::write_new(options.out, key.view(), key_file_mode);
  std::cout << "Wrote a new Fernet key to " << options.out << "\n";
}

void run_encrypt(const fernet_options& options) {
  const auto key = read_fernet_key(options.key_file);
  const secret_string plain(read_stdin_all());
  const auto token = crypto::fernet::encrypt(
      key,
      std::span(reinterpret_cast<const std::uint8_t*>(plain.view().data()), plain.view().size()),
      system_clock().now_seconds());
  if (!token) {
    throw std::runtime_error("cannot encrypt: " + token.error().message());
  }
  std::cout << *token << "\n";
}

void run_decrypt(const fernet_options& options, bool with_ttl) {
  const auto key = read_fernet_key(options.key_file);
  const std::string input = read_stdin_all();
  const auto token = trimmed(input);
  const auto plain =
      with_ttl ? crypto::fernet::decrypt(key, token, options.ttl, system_clock().now_seconds())
               : crypto::fernet::decrypt(key, token);
  if (!plain) {
    throw std::runtime_error(invalid_token);
  }
  std::cout.write(plain->view().data(), static_cast<std::streamsize>(plain->size()));
  std::cout.flush();
}

}  // namespace

std::string_view trimmed(std::string_view text) {
  constexpr std::string_view space = " \t\r\n";
  const auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

secret_bytes read_fernet_key(const std::filesystem::path& path) {
  const auto raw = files::read_secret(path);
  auto key = crypto::fernet::parse_key(trimmed(raw.view()));
  if (!key) {
    throw std::runtime_error(path.string() +
                             ": not a Fernet key (44 characters of urlsafe base64, as "
                             "hush fernet key or Fernet.generate_key() make)");
  }
  return std::move(*key);
}

void add_fernet(CLI::App& app) {
  auto* group = app.add_subcommand(
      "fernet", "Fernet tokens, compatible with Python's cryptography.fernet (no club needed)");
  group->require_subcommand(1);

  auto key = std::make_shared<fernet_options>();
  auto* key_cmd = group->add_subcommand("key", "Make a new key; print it, or write it to --out");
  key_cmd->add_option("--out", key->out, "Write the key to this new file (0600), never over one");
  key_cmd->callback([key] { run_key(*key); });

  auto encrypt = std::make_shared<fernet_options>();
  auto* encrypt_cmd = group->add_subcommand("encrypt", "Standard input -> a token on one line");
  encrypt_cmd->add_option("--key-file", encrypt->key_file, "The key (a private file)")->required();
  encrypt_cmd->callback([encrypt] { run_encrypt(*encrypt); });

  auto decrypt = std::make_shared<fernet_options>();
  auto* decrypt_cmd = group->add_subcommand("decrypt", "A token on standard input -> plaintext");
  decrypt_cmd->add_option("--key-file", decrypt->key_file, "The key (a private file)")->required();
  auto* ttl =
      decrypt_cmd
          ->add_option("--ttl", decrypt->ttl,
                       "Refuse tokens older than this many seconds (or from the future)")
          ->check(CLI::Validator(
              [](const std::string& value) {
                return !value.empty() && value.find_first_not_of("0123456789") == std::string::npos
                           ? std::string()
                           : std::string("takes a number of seconds, 0 or more");
              },
              "SECONDS"));
  decrypt_cmd->callback([decrypt, ttl] { run_decrypt(*decrypt, ttl->count() > 0); });
}

}  // namespace hush::cli
