#include "net/session.hpp"

#include "net/basic_session.hpp"

namespace hush::net {

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
  open_session(std::move(socket), state, address.to_string(), deadlines_from(state.cfg));
}

}  // namespace hush::net
