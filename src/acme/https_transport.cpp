#include "acme/https_transport.hpp"

#include <stdexcept>
#include <stop_token>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>

#include "acme/url.hpp"

namespace hush::acme {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::uint64_t max_reply_bytes = 1U << 20U;
constexpr int http_version = 11;

// Starts one asynchronous operation and runs the I/O until it completes; its error is thrown.
template <class Start>
void run_one(asio::io_context& io, Start start) {
  boost::system::error_code result = asio::error::would_block;
  start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  if (result == asio::error::would_block) {
    result = asio::error::operation_aborted;
  }
  if (result) {
    throw boost::system::system_error(result);
  }
}

}  // namespace

https_transport::https_transport(std::string ca_bundle, std::stop_token stop,
                                 std::chrono::seconds timeout)
    : ca_bundle_(std::move(ca_bundle)), stop_(std::move(stop)), timeout_(timeout) {}

http_response https_transport::exchange(std::string_view method, const std::string& url,
                                        const std::string& body, std::string_view content_type) {
  try {
    return exchange_once(method, url, body, content_type);
  } catch (const boost::system::system_error& e) {
    // The code's message, not Boost's source location.
    throw std::runtime_error(std::string(method) + " " + url + ": " + e.code().message());
  }
}

http_response https_transport::exchange_once(std::string_view method, const std::string& url,
                                             const std::string& body,
                                             std::string_view content_type) {
  const auto where = parse_https_url(url);
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  tls.set_default_verify_paths();
  if (!ca_bundle_.empty()) {
    tls.load_verify_file(ca_bundle_);
  }
  tls.set_verify_mode(asio::ssl::verify_peer);

  asio::io_context io;
  beast::ssl_stream<beast::tcp_stream> stream(io, tls);
  stream.set_verify_callback(asio::ssl::host_name_verification(where.host));
  // SNI, as every CA's front end expects.
  // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
  if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(where.host.c_str())) != 1) {
    throw std::runtime_error("cannot name " + where.host + " in the TLS handshake");
  }
  if (stop_.stop_requested()) {
    throw std::runtime_error("stopped");
  }
  // A stop (the server shutting down) closes the socket, which ends the operation in flight.
  const std::stop_callback close_on_stop(stop_, [&io, &stream] {
    asio::post(io, [&stream] { beast::get_lowest_layer(stream).close(); });
  });
  auto& tcp = beast::get_lowest_layer(stream);
  // Only asynchronous operations honour tcp_stream's deadline: each runs to completion (or to
  // the deadline, which closes the socket) before the next starts.
  tcp.expires_after(timeout_);
  asio::ip::tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(where.host, where.port);
  run_one(io, [&](auto done) { tcp.async_connect(addresses, done); });
  run_one(io, [&](auto done) { stream.async_handshake(asio::ssl::stream_base::client, done); });

  http::request<http::string_body> req{http::string_to_verb(method), where.target, http_version};
  const bool bracketed = where.host.find(':') != std::string::npos;
  req.set(http::field::host, (bracketed ? "[" + where.host + "]" : where.host) +
                                 (where.port == "443" ? std::string() : ":" + where.port));
  // RFC 8555 §6.1: clients send a User-Agent.
  req.set(http::field::user_agent, "hush-acme");
  req.set(http::field::accept, "application/json, application/pem-certificate-chain");
  if (!content_type.empty()) {
    req.set(http::field::content_type, content_type);
  }
  req.body() = body;
  req.prepare_payload();
  run_one(io, [&](auto done) { http::async_write(stream, req, done); });

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_reply_bytes);
  if (method == "HEAD") {
    parser.skip(true);
  }
  run_one(io, [&](auto done) { http::async_read(stream, buffer, parser, done); });
  const auto& res = parser.get();
  http_response out;
  out.status = res.result_int();
  out.body = res.body();
  out.content_type = std::string(res[http::field::content_type]);
  out.location = std::string(res[http::field::location]);
  out.replay_nonce = std::string(res["Replay-Nonce"]);
  out.retry_after = std::string(res[http::field::retry_after]);
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  return out;
}

}  // namespace hush::acme
