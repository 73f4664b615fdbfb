#include "net/metrics_listener.hpp"

#include "net/plain_listener.hpp"
#include "net/redirect_listener.hpp"

namespace hush::net {
namespace {

// A scraper sends its request at once and needs one connection; more is a flood.
constexpr plain_limits scrape_limits{4096, std::chrono::seconds(2), max_metrics_connections,
                                     max_metrics_connections, max_metrics_connections};

http::response answer_scrape(const http::request& req, const std::function<std::string()>& render) {
  const bool head = req.method() == http::verb::head;
  http::response res;
  res.version(req.version());
  res.keep_alive(false);
  res.set(http::field::cache_control, "no-store");
  if (req.target() != "/metrics") {
    res.result(http::status::not_found);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = "not found\n";
  } else if (req.method() != http::verb::get && !head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = "method not allowed\n";
  } else {
    res.result(http::status::ok);
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = render();
  }
  res.prepare_payload();
  return res;
}

}  // namespace

struct metrics_listener::impl {
  impl(const config::listen_address& where, std::function<std::string()> render)
      : listener(where, "metrics.listen", scrape_limits,
                 [render = std::move(render)](const http::request& req) {
                   return answer_scrape(req, render);
                 }) {}
  plain_listener listener;
};

metrics_listener::metrics_listener(const config::listen_address& where,
                                   std::function<std::string()> render)
    : impl_(std::make_unique<impl>(where, std::move(render))) {}

metrics_listener::~metrics_listener() = default;

boost::asio::ip::tcp::endpoint metrics_listener::local_endpoint() const {
  return impl_->listener.local_endpoint();
}

}  // namespace hush::net
