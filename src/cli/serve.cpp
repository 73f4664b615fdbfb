#include "app/serve.hpp"

#include <algorithm>
#include <memory>
#include <string_view>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/usage.hpp"
#include "config/config.hpp"

namespace hush::cli {
namespace {

constexpr const char* listen_flag = "--listen";

}  // namespace

void add_serve(CLI::App& app) {
  auto options = std::make_shared<app::serve_options>();
  auto* cmd = app.add_subcommand("serve", "Serve the club over HTTPS");
  add_dir_option(*cmd, options->dir);
  cmd->add_option("--listen", options->listen,
                  "ADDR:PORT to serve HTTPS on; may be given several times (default from config)")
      ->allow_extra_args(false)
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            try {
              config::parse_listen(value, listen_flag);
            } catch (const config::config_error& e) {
              // CLI11 names the option itself.
              std::string_view reason = e.what();
              reason.remove_prefix(
                  std::min(reason.size(), std::string_view(listen_flag).size() + 2));
              return std::string(reason);
            }
            return {};
          },
          "ADDR:PORT"));
  cmd->add_option("--client-certs", options->client_certs,
                  "off, optional or required: client certificates from the club CA "
                  "(default from config)")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            if (config::parse_client_cert_mode(value)) {
              return {};
            }
            return "must be off, optional or required, not \"" + value + "\"" +
                   did_you_mean(value, {"off", "optional", "required"});
          },
          "off|optional|required"));
  cmd->add_flag("--unseal-stdin", options->unseal_stdin,
                "Read the passphrase of a sealed master key (hush key seal) from stdin");
  cmd->callback([options] {
    // The root's --dir (hush --dir D serve) counts as the command's own.
    options->dir = club_dir(options->dir).dir.string();
    app::serve(*options);
  });
}

}  // namespace hush::cli
