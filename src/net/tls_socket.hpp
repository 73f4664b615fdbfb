#pragma once

#include <cstddef>
#include <optional>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

namespace hush::net {
namespace tls_detail {

// What one attempt of an OpenSSL call came to: done (with an error or not, and the bytes it
// moved), or it waits until the socket is readable or writable and is tried again.
struct attempt {
  enum class want { nothing, read, write };
  want next = want::nothing;
  boost::system::error_code ec;
  std::size_t bytes = 0;
};

}  // namespace tls_detail

// A TLS stream over a TCP socket whose descriptor OpenSSL reads and writes itself (a socket BIO,
// the socket non-blocking), as nginx does: no buffers of the stream's own, no copy of each record
// through a memory BIO pair, and with SSL_MODE_RELEASE_BUFFERS an idle connection holds only the
// SSL object. It waits for readiness with the socket's async_wait when OpenSSL wants to read or
// write. Models Asio's AsyncReadStream and AsyncWriteStream and offers what Beast's ssl_stream
// offers the session, with the same errors as Asio's ssl::stream: the peer's close_notify is
// asio::error::eof on a read, a TCP end without one ssl::error::stream_truncated, OpenSSL's errors
// in Asio's SSL category, the socket's in the system category. Closing the socket (next_layer())
// makes every pending operation fail with operation_aborted; later ones fail with bad_descriptor.
// Not thread safe: one thread (the socket's executor) drives it. As with Asio's stream, one read
// (or wait_readable) and one write may be outstanding at once; a handshake or a shutdown is both.
class tls_socket {
 public:
  using next_layer_type = boost::asio::ip::tcp::socket;
  using lowest_layer_type = next_layer_type;
  using executor_type = next_layer_type::executor_type;

  // Takes the connected socket. The SSL object is made from `context` when the handshake begins
  // (a server's only once the client's first byte is there), so a connection that never speaks
  // costs no TLS state; until then the stream holds a reference to the context.
  tls_socket(next_layer_type socket, boost::asio::ssl::context& context);
  ~tls_socket();
  // OpenSSL keeps the address of the socket: the stream stays where it was made.
  tls_socket(const tls_socket&) = delete;
  tls_socket& operator=(const tls_socket&) = delete;
  tls_socket(tls_socket&&) = delete;
  tls_socket& operator=(tls_socket&&) = delete;

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  next_layer_type& next_layer() noexcept { return socket_; }
  const next_layer_type& next_layer() const noexcept { return socket_; }
  lowest_layer_type& lowest_layer() noexcept { return socket_; }
  // The connection's SSL object; nullptr until the handshake has begun.
  SSL* native_handle() const noexcept { return ssl_; }

  // The handshake, as a server or a client. A server first waits for the client's first byte.
  template <class Token>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type type, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        io_op<handshake_step>(*this, handshake_step{type}), token, socket_);
  }

  // Sends close_notify and waits for the peer's; completes without an error once it came.
  template <class Token>
  auto async_shutdown(Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        io_op<shutdown_step>(*this, {}), token, socket_);
  }

  // Reads into the first non-empty buffer of `buffers` (as Asio's ssl::stream does); at least
  // one byte, or an error; an empty sequence completes at once with none.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        io_op<read_step>(*this, read_step{first_of<boost::asio::mutable_buffer>(buffers)}), token,
        socket_);
  }

  // Writes the whole first non-empty buffer of `buffers`, or fails.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        io_op<write_step>(*this, write_step{first_of<boost::asio::const_buffer>(buffers)}), token,
        socket_);
  }

  // Completes when a read would find something: bytes OpenSSL already holds, or the socket
  // readable. Lets a connection wait for its next request without a buffer for it.
  template <class Token>
  auto async_wait_readable(Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        io_op<readable_step>(*this, {}), token, socket_);
  }

 private:
  using attempt = tls_detail::attempt;

  // One attempt of each operation, without waiting.
  attempt try_handshake(boost::asio::ssl::stream_base::handshake_type type);
  attempt try_shutdown();
  attempt try_read(boost::asio::mutable_buffer buffer);
  attempt try_write(boost::asio::const_buffer buffer);
  attempt try_readable() const;

  struct handshake_step {
    boost::asio::ssl::stream_base::handshake_type type;
    // A server waits for the first byte before it makes its SSL object.
    bool awaited = false;
    static constexpr bool with_bytes = false;
    attempt operator()(tls_socket& s) {
      if (type == boost::asio::ssl::stream_base::server && s.ssl_ == nullptr && !awaited) {
        awaited = true;
        return {attempt::want::read, {}, 0};
      }
      return s.try_handshake(type);
    }
  };
  struct shutdown_step {
    static constexpr bool with_bytes = false;
    attempt operator()(tls_socket& s) const { return s.try_shutdown(); }
  };
  struct read_step {
    boost::asio::mutable_buffer buffer;
    static constexpr bool with_bytes = true;
    attempt operator()(tls_socket& s) const { return s.try_read(buffer); }
  };
  struct write_step {
    boost::asio::const_buffer buffer;
    static constexpr bool with_bytes = true;
    attempt operator()(tls_socket& s) const { return s.try_write(buffer); }
  };
  struct readable_step {
    bool awaited = false;
    static constexpr bool with_bytes = false;
    attempt operator()(tls_socket& s) {
      if (awaited) {
        return {};
      }
      awaited = true;
      return s.try_readable();
    }
  };

  // Tries the step; while OpenSSL wants the socket, waits for it and tries again. A step done at
  // its first try completes through a post, never inside the initiating call.
  template <class Step>
  struct io_op {
    io_op(tls_socket& s, Step first) : stream(s), step(std::move(first)) {}

    tls_socket& stream;
    Step step;
    bool waited = false;
    std::optional<attempt> done;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (done) {
        finish(self, *done);
        return;
      }
      if (ec) {
        finish(self, {attempt::want::nothing, ec, 0});  // the socket was closed under the wait
        return;
      }
      const auto result = step(stream);
      if (result.next != attempt::want::nothing) {
        waited = true;
        stream.socket_.async_wait(result.next == attempt::want::read ? next_layer_type::wait_read
                                                                     : next_layer_type::wait_write,
                                  std::move(self));
        return;
      }
      if (!waited) {
        done = result;
        boost::asio::post(stream.get_executor(), std::move(self));
        return;
      }
      finish(self, result);
    }

    template <class Self>
    static void finish(Self& self, const attempt& result) {
      if constexpr (Step::with_bytes) {
        self.complete(result.ec, result.bytes);
      } else {
        self.complete(result.ec);
      }
    }
  };

  template <class Buffer, class Buffers>
  static Buffer first_of(const Buffers& buffers) {
    const auto end = boost::asio::buffer_sequence_end(buffers);
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end; ++it) {
      if (Buffer buffer(*it); buffer.size() > 0) {
        return buffer;
      }
    }
    return {};
  }

  // Makes the SSL object on the socket; an error if OpenSSL could not.
  boost::system::error_code make_ssl(boost::asio::ssl::stream_base::handshake_type type);

  next_layer_type socket_;
  SSL_CTX* context_ = nullptr;  // referenced until ssl_ is made, which then holds it
  SSL* ssl_ = nullptr;
};

}  // namespace hush::net
