#include "app/serve.hpp"

#include <memory>

#include "cli/commands.hpp"

namespace hush::cli {

void add_serve(CLI::App& app) {
  auto options = std::make_shared<app::serve_options>();
  auto* cmd = app.add_subcommand("serve", "Serve the club over HTTPS");
  cmd->add_option("--dir", options->dir, "Club directory (default $HUSH_DIR or ./hush-data)");
  cmd->add_option("--listen", options->listen, "ADDR:PORT to listen on (default from config)");
  cmd->add_option("--client-certs", options->client_certs,
                  "off, optional or required: client certificates from the club CA "
                  "(default from config)");
  cmd->add_flag("--unseal-stdin", options->unseal_stdin,
                "Read the passphrase of a sealed master key (hush key seal) from stdin");
  cmd->callback([options] { app::serve(*options); });
}

}  // namespace hush::cli
