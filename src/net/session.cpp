#include "net/session.hpp"

#include <array>

#include <boost/asio/read.hpp>

#include "net/basic_session.hpp"
#include "net/proxy.hpp"
#include "net/tls_socket.hpp"

namespace hush::net {
namespace {

namespace asio = boost::asio;

// A trusted proxy in TCP mode (HAProxy's send-proxy-v2) says who the client is before the
// client's first byte; the connection is admitted (caps, logs, throttle, audit) as that client.
// A trusted peer may also connect without the header (a proxy in HTTP mode, a health check): the
// first byte tells, since a TLS record never begins with the signature's 0x0D. Bounded by the
// handshake's deadline.
class proxy_header_reader : public std::enable_shared_from_this<proxy_header_reader> {
 public:
  proxy_header_reader(asio::ip::tcp::socket socket, shared_state& state, std::string peer)
      : socket_(std::move(socket)),
        state_(state),
        peer_(std::move(peer)),
        deadline_(socket_.get_executor()) {}

  void start() {
    deadline_.expires_after(state_.cfg.handshake_timeout);
    deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (auto self = weak.lock(); self && !ec) {
        boost::system::error_code ignored;
        self->socket_.close(ignored);
      }
    });
    socket_.async_wait(asio::ip::tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                         if (!ec) {
                           self->on_first_byte();
                         }
                       });
  }

 private:
  void on_first_byte() {
    std::array<std::uint8_t, 1> first{};
    boost::system::error_code ec;
    const auto n = socket_.receive(asio::buffer(first), asio::socket_base::message_peek, ec);
    if (ec || n == 0) {
      return;  // gone before a byte
    }
    if (first[0] != 0x0d) {
      begin(peer_, false);
      return;
    }
    read_header(proxy_v2_fixed_size);
  }

  void read_header(std::size_t size) {
    asio::async_read(
        socket_, asio::buffer(header_.data() + read_, size - read_),
        [self = shared_from_this(), size](const boost::system::error_code& ec, std::size_t n) {
          if (ec) {
            return;
          }
          self->read_ += n;
          self->on_header(size);
        });
  }

  void on_header(std::size_t size) {
    const auto parsed = parse_proxy_v2({header_.data(), size});
    using state = proxy_v2_header::state;
    if (parsed.at == state::incomplete && parsed.size > size) {
      read_header(parsed.size);
      return;
    }
    if (parsed.at != state::complete) {
      log::debug("malformed PROXY protocol header from " + peer_);
      boost::system::error_code ignored;
      socket_.close(ignored);
      deadline_.cancel();
      return;
    }
    // Whatever the header said (a client, LOCAL, another family), the connection is framed: no
    // X-Forwarded-For on it is believed, since what follows is the client's own bytes.
    begin(parsed.client.value_or(peer_), true);
  }

  void begin(const std::string& client, bool framed) {
    deadline_.cancel();
    open_session<tls_socket>(std::move(socket_), state_, client, deadlines_from(state_.cfg),
                             framed);
  }

  asio::ip::tcp::socket socket_;
  shared_state& state_;
  std::string peer_;
  asio::steady_timer deadline_;
  std::array<std::uint8_t, proxy_v2_max_size> header_{};
  std::size_t read_ = 0;
};

}  // namespace

session_deadlines deadlines_from(const config::config& cfg) {
  return {cfg.handshake_timeout, cfg.request_timeout, cfg.idle_timeout, default_linger_timeout};
}

void start_session(boost::asio::ip::tcp::socket socket, shared_state& state) {
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) {
    return;  // already gone
  }
  auto address = endpoint.address();
  // An IPv4 client of a dual-stack socket is shown as IPv4, not ::ffff:a.b.c.d.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  auto peer = address.to_string();
  if (is_trusted(state.cfg.trusted_proxies, peer)) {
    std::make_shared<proxy_header_reader>(std::move(socket), state, std::move(peer))->start();
    return;
  }
  open_session<tls_socket>(std::move(socket), state, std::move(peer), deadlines_from(state.cfg));
}

}  // namespace hush::net
