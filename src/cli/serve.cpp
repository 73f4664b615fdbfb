#include <iostream>
#include <memory>
#include <sys/resource.h>

#include "cli/club_dir.hpp"
#include "cli/commands.hpp"
#include "core/files.hpp"
#include "core/log.hpp"
#include "http/router.hpp"
#include "net/server.hpp"
#include "net/tls.hpp"

namespace hush::cli {
namespace {

struct serve_options {
  std::string dir;
  std::string listen;
};

// Every connection is a file descriptor: lift the soft limit to the hard one, and say so when even
// that is below what the config allows.
void raise_file_limit(std::size_t max_connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  // Room for the database, the logs and the listener besides the connections.
  constexpr rlim_t reserve = 64;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < max_connections + reserve) {
    log::warn("open file limit " + std::to_string(limit.rlim_cur) +
              " is below limits.max_connections; connections beyond it will be refused");
  }
}

void run_serve(const serve_options& options) {
  const auto paths = resolve_dir(options.dir);
  auto club = open_club(paths);
  if (!options.listen.empty()) {
    club->cfg.listen = config::parse_listen(options.listen, "--listen");
  }
  club->hasher->prepare();
  raise_file_limit(club->cfg.max_connections);
  auto tls = net::make_server_context(paths.server_cert(), paths.server_key());
  std::string crl;
  if (std::filesystem::exists(paths.ca_crl())) {
    crl = files::read_text(paths.ca_crl());
  }
  http::router router(http::services{*club->domain, *club->auth, club->cfg, std::move(crl)});
  // Declared before the server so that it outlives it: pending audits are committed and their
  // callbacks run before the batcher goes.
  store::audit_batcher audits(*club->store);
  net::server server(
      club->cfg, tls,
      [&router](const http::request& req, const http::request_context& ctx, auth::hashing mode) {
        return router.route(req, ctx, mode);
      },
      audits);

  const auto endpoint = server.local_endpoint();
  const auto host = endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                               : endpoint.address().to_string();
  // Tests and scripts read this line to learn the port when they asked for port 0.
  std::cout << "hush: serving https://" << host << ":" << endpoint.port() << "/" << std::endl;
  server.run();
  log::info("stopped");
}

}  // namespace

void add_serve(CLI::App& app) {
  auto options = std::make_shared<serve_options>();
  auto* cmd = app.add_subcommand("serve", "Serve the club over HTTPS");
  cmd->add_option("--dir", options->dir, "Club directory (default $HUSH_DIR or ./hush-data)");
  cmd->add_option("--listen", options->listen, "ADDR:PORT to listen on (default from config)");
  cmd->callback([options] { run_serve(*options); });
}

}  // namespace hush::cli
