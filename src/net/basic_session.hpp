#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "auth/throttle.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/secret.hpp"
#include "http/admission.hpp"
#include "http/observe.hpp"
#include "http/response.hpp"
#include "net/completion_inbox.hpp"
#include "net/engine.hpp"
#include "net/observed.hpp"
#include "net/proxy.hpp"
#include "net/session.hpp"
#include "net/tls.hpp"
#include "net/tls_alpn.hpp"

namespace hush::net {
namespace session_detail {

// Room in the read buffer beyond a full head: pipelined bytes and the first of a body.
inline constexpr std::size_t read_ahead_bytes = 16 * 1024;
// How much one read of a head asks for.
inline constexpr std::size_t read_chunk_bytes = 4096;
// After refusing a request half-read: how much to read and drop at most, and per read.
inline constexpr std::size_t linger_max_bytes = 1024 * 1024;
inline constexpr std::size_t linger_chunk_bytes = 4096;
// How long a client should wait when the hashing queue is full.
inline constexpr std::chrono::seconds overloaded_retry_after{1};
// Near the connection cap (connection_limiter::under_pressure), a new connection gets at most this
// long for its handshake and for its first request: enough for a member on a slow link, little
// for a flood that holds connections open in silence.
inline constexpr std::chrono::seconds pressed_timeout{2};

// A stream that can wait for its next bytes without a buffer to read them into (tls_socket): a
// keep-alive connection then holds no read buffer while it waits for its next request.
template <class Stream>
concept waits_readable = requires(Stream& stream) {
  stream.async_wait_readable([](const boost::system::error_code&) {});
};

}  // namespace session_detail

// One TLS connection on `Stream`, a TLS stream constructible from its next layer and an SSL
// context (net::tls_socket on a TCP socket in the server; in the tests also Beast's ssl_stream on
// its in-memory test::stream): see start_session. Runs on its stream's executor only, which one
// thread drives. Its one deadline is a timer of its own that closes the lowest layer when it
// passes, so any pending handshake, read or write then fails; it runs while the session waits on
// its peer, not while a request is being handled. Between requests it holds no read buffer, no
// parser and no serialized answer.
template <class Stream>
class basic_session : public std::enable_shared_from_this<basic_session<Stream>> {
 public:
  using clock = std::chrono::steady_clock;
  using next_layer_type = typename Stream::next_layer_type;

  // `framed`: the connection came with a PROXY protocol header, which named `remote`; then no
  // X-Forwarded-For on it is believed, whoever sends it.
  basic_session(next_layer_type next, shared_state& state, std::string remote,
                connection_limiter::ticket ticket, session_deadlines deadlines, bool framed = false)
      : tls_(state.tls.current()),
        stream_(std::move(next), *tls_),
        deadline_(stream_.get_executor()),
        inbox_(completion_inbox::of(stream_.get_executor())),
        state_(state),
        limiter_(state.connections),
        ticket_(ticket),
        deadlines_(deadlines),
        buffer_(state.cfg.max_header_bytes + session_detail::read_ahead_bytes) {
    context_.remote = remote;
    peer_ = std::move(remote);
    peer_is_proxy_ = !framed && is_trusted(state.cfg.trusted_proxies, peer_);
    context_.note = &note_;
    observed::connection_opened();
  }
  basic_session(const basic_session&) = delete;
  basic_session& operator=(const basic_session&) = delete;
  ~basic_session() {
    keep_session_resumable(stream_.native_handle());
    limiter_.close(ticket_);
    observed::connection_closed();
  }

  // What the limiter calls to close this connection to make room: a post to its own I/O thread,
  // which alone may touch the stream.
  connection_limiter::evict_fn evictor() {
    return [weak = this->weak_from_this(), executor = stream_.get_executor()] {
      boost::asio::post(executor, [weak] {
        if (auto self = weak.lock()) {
          self->on_evicted();
        }
      });
    };
  }

  void start() {
    expires_after(proving_timeout(deadlines_.handshake));
    stream_.async_handshake(
        boost::asio::ssl::stream_base::server,
        [self = this->shared_from_this()](boost::beast::error_code ec) { self->on_handshake(ec); });
  }

 private:
  void on_handshake(boost::beast::error_code ec) {
    observed::handshake(!ec);
    if (ec) {
      // A client certificate the club does not accept is worth a warning (fail2ban counts it);
      // scanners, plain-HTTP clients and clients that distrust our CA end here too, unremarked.
      if (const auto refused = refused_peer(stream_.native_handle())) {
        http::note_certificate_refused(context_.remote, refused->common_name, refused->reason);
      } else {
        log::debug("handshake failed from " + context_.remote + ": " + ec.message());
      }
      return;
    }
    if (!limiter_.handshake_done(ticket_)) {
      return;  // chosen to make room meanwhile; its close is on its way
    }
    if (is_tls_alpn_challenge(stream_.native_handle())) {
      // An ACME CA validating tls-alpn-01 (RFC 8737 §3): the handshake was all it came for.
      log::debug("acme tls-alpn-01 validation from " + context_.remote);
      do_close();
      return;
    }
    if (auto peer = verified_peer(stream_.native_handle())) {
      context_.client_cert_serial = std::move(peer->serial);
      context_.client_cert_name = std::move(peer->common_name);
    } else if (state_.cfg.client_certs == config::client_cert_mode::required) {
      // The handshake already refuses a client without one; should anything ever let one
      // through, no byte of HTTP is read from it.
      log::warn("client=" + context_.remote + " handshake without the required certificate");
      do_close();
      return;
    }
    do_read();
  }

  void do_read() {
    note_ = {};
    started_.reset();
    // A trusted proxy's keep-alive connection carries many clients' requests: until this one's
    // X-Forwarded-For is read, it is the peer's, not the client's of the request before (whose
    // name a refused request would otherwise be logged under).
    context_.remote = peer_;
    // Between requests only the wait for the next one's first byte is idle time; from that byte
    // on (read_head), or at once if it is already here, the request deadline applies.
    awaiting_next_ = !first_request_ && buffer_.size() == 0;
    auto deadline = deadlines_.request;
    if (first_request_) {
      deadline = proving_timeout(deadline);
    } else if (awaiting_next_) {
      deadline = deadlines_.idle;
    }
    expires_after(deadline);
    if constexpr (session_detail::waits_readable<Stream>) {
      if (buffer_.size() == 0) {
        // The read buffer is allocated when the request's first bytes are there.
        stream_.async_wait_readable(
            [self = this->shared_from_this()](const boost::system::error_code& ec) {
              if (ec) {
                self->on_read(ec);
                return;
              }
              self->read_head();
            });
        return;
      }
    }
    // The head's raw bytes first, so that what the parser would quietly accept can be refused
    // (http::scan_head).
    read_head();
  }

  // Reads until the buffer holds a whole head, which may already be there when a client
  // pipelines, and hands it to the parser. Beast's flat_buffer must not be handed to
  // asio::async_read_until: that takes a copy of a dynamic buffer of this kind, and the bytes
  // would land in the copy.
  void read_head() {
    if (!started_ && buffer_.size() > 0) {
      started_ = clock::now();  // the request's first byte: where its duration starts
    }
    const std::string_view held(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    const auto scan = http::scan_head(held, state_.cfg.max_header_bytes);
    if (scan.at == http::head_scan::state::refused) {
      first_request_ = false;
      reply_and_close(scan.refusal);
      return;
    }
    if (scan.at == http::head_scan::state::complete) {
      parser_.emplace();
      parser_->header_limit(static_cast<std::uint32_t>(state_.cfg.max_header_bytes));
      parser_->body_limit(state_.cfg.max_body_bytes);
      boost::beast::http::async_read_header(
          stream_, buffer_, *parser_,
          [self = this->shared_from_this()](boost::beast::error_code ec, std::size_t) {
            self->on_header(ec);
          });
      return;
    }
    stream_.async_read_some(
        buffer_.prepare(session_detail::read_chunk_bytes),
        [self = this->shared_from_this()](boost::beast::error_code ec, std::size_t n) {
          if (ec) {
            self->on_read(ec);
            return;
          }
          self->buffer_.commit(n);
          self->end_idle_wait(n);
          self->read_head();
        });
  }

  // The next request on a keep-alive connection has begun: from its first byte on, the request
  // deadline applies, not the idle one.
  void end_idle_wait(std::size_t n) {
    if (awaiting_next_ && n > 0) {
      awaiting_next_ = false;
      expires_after(deadlines_.request);
    }
  }

  // The parsed head must meet http::head_refusal's rules (framing, Host, Authorization) before
  // the body is read; a refusal closes the connection, since what follows cannot be trusted.
  void on_header(boost::beast::error_code ec) {
    if (ec) {
      on_read(ec);
      return;
    }
    if (const auto refusal = http::head_refusal(parser_->get())) {
      first_request_ = false;
      reply_and_close(*refusal);
      return;
    }
    boost::beast::http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](boost::beast::error_code read_ec, std::size_t) {
          self->on_read(read_ec);
        });
  }

  void on_read(boost::beast::error_code ec) {
    first_request_ = false;
    if (ec) {
      const auto failure = http::read_error_answer(ec, buffer_.size());
      if (failure.then == http::read_failure::action::answer) {
        reply_and_close(failure.error);
      } else if (failure.then == http::read_failure::action::close) {
        do_close();
      }
      return;
    }
    // The handler's time is not the client's: no deadline until the answer is written.
    no_deadline();

    request_ = parser_->release();
    parser_.reset();
    routed_ = true;
    if (peer_is_proxy_) {
      context_.remote = client_behind_proxy();
    }
    if (!limiter_.request_seen(ticket_)) {
      // Chosen to make room a moment before the request was whole: nothing of it was handled, so
      // dropping it unanswered loses nothing the client cannot send again.
      return;
    }
    if (log::enabled(log::level::debug)) {
      // The path only: a query string is the client's and may carry what it should not.
      const auto target = request_.target();
      log::debug("request " + std::string(request_.method_string()) + " " +
                 std::string(target.substr(0, target.find('?'))) + " from " + context_.remote);
    }
    ++state_.in_flight;
    // A read that memory can answer is answered here, on this thread: no hand-off to a worker.
    if (auto answer = from_memory()) {
      respond(std::move(*answer));
      return;
    }
    serve_from_store();
  }

  // First on the general workers, where no password is hashed; only a request that needs
  // Argon2id moves on to the bounded hashing pool, carrying what the first pass decided.
  void serve_from_store() {
    boost::asio::post(state_.workers, [self = this->shared_from_this()] {
      auto first = self->handle();
      if (auto* answer = std::get_if<http::reply>(&first)) {
        self->respond(std::move(*answer));
      } else {
        self->hash_then_respond(std::move(std::get<http::needs_hashing>(first)));
      }
    });
  }

  std::optional<http::reply> from_memory() {
    if (!state_.from_memory) {
      return std::nullopt;
    }
    try {
      return state_.from_memory(request_, context_);
    } catch (const std::exception& e) {
      // As handle(): a bug. The full path answers the request.
      log::error(std::string("handler threw: ") + e.what());
      note_ = {};
      return std::nullopt;
    }
  }

  void hash_then_respond(http::needs_hashing pending) {
    if (state_.hashing_queued.fetch_add(1) >= state_.cfg.argon2_queue) {
      --state_.hashing_queued;
      http::note_hashing_queue_full(context_.remote);
      respond(http::reply(http::error_response(http::api_error::unavailable, request_,
                                               session_detail::overloaded_retry_after)));
      return;
    }
    observed::hashing_queue(1);
    boost::asio::post(state_.hashing,
                      [self = this->shared_from_this(), pending = std::move(pending),
                       queued = clock::now()]() mutable {
                        observed::hashing_waited(clock::now() - queued);
                        auto answer = self->resume(pending);
                        --self->state_.hashing_queued;
                        observed::hashing_queue(-1);
                        self->respond(std::move(answer));
                      });
  }

  // A read's audit record must be durable before the body leaves: hand it to the club's sink
  // (batched) and write when it says so.
  void respond(http::reply answer) {
    if (!answer.audit) {
      write_on_io_thread(std::move(answer.res));
      return;
    }
    auto owed = std::move(*answer.audit);
    const bool from_view = owed.as_of() != 0;
    // The commit's thread hands the outcome back to this connection's I/O thread, with the
    // others of the same commit: one wake-up per I/O thread per commit, not per read.
    state_.domain.commit_read(
        std::move(owed), [self = this->shared_from_this(), res = std::move(answer.res),
                          from_view](std::error_code ec) mutable {
          auto& inbox = self->inbox_;
          inbox.hand_over([self = std::move(self), res = std::move(res), from_view, ec]() mutable {
            self->on_audited(ec, std::move(res), from_view);
          });
        });
  }

  // On this connection's I/O thread, once the read's audit record is durable (or is not).
  void on_audited(std::error_code ec, http::response res, bool from_view) {
    if (from_view && (!ec || ec == errc::stale)) {
      observed::read_from_memory(static_cast<bool>(ec));
    }
    if (ec == errc::stale) {
      // Answered from a view that a change overtook before the audit committed: nothing
      // was audited and nothing is sent. The store decides the request afresh (a revoked
      // token is refused there), and what routing noted is noted again.
      secure_zero(res.body().data(), res.body().size());
      const bool paid = note_.allowance_spent;
      note_ = {};
      note_.allowance_spent = paid;
      serve_from_store();
      return;
    }
    if (ec) {
      // Never an unaudited read: the body is wiped and dropped, and a full disk says so
      // (507).
      log::error("audit: " + ec.message());
      secure_zero(res.body().data(), res.body().size());
      res = http::error_response(http::to_api_error(ec), request_);
    }
    do_write(std::move(res));
  }

  // Back to this connection's own I/O thread to write (from a worker, or from the I/O thread
  // itself, where the write must still wait for the handler that answered to return).
  void write_on_io_thread(http::response res) {
    inbox_.hand_over([self = this->shared_from_this(), res = std::move(res)]() mutable {
      self->do_write(std::move(res));
    });
  }

  http::outcome handle() {
    try {
      return state_.handler(request_, context_);
    } catch (const std::exception& e) {
      // Handlers report errors as values; an exception here is a bug, never the client's business.
      log::error(std::string("handler threw: ") + e.what());
      return http::error_response(http::api_error::internal, request_);
    }
  }

  http::reply resume(http::needs_hashing& pending) {
    try {
      return pending.resume();
    } catch (const std::exception& e) {
      log::error(std::string("handler threw: ") + e.what());
      return http::error_response(http::api_error::internal, request_);
    }
  }

  // A request refused half-read (too large, malformed) may still be arriving. Closing at once
  // would make the client's next write fail before it reads our answer, so first the answer is
  // written, then what is still coming is read and dropped for a little while (as nginx's
  // lingering close does), and only then the connection is closed.
  void reply_and_close(http::api_error error) {
    ++state_.in_flight;
    linger_ = true;
    do_write(http::error_response(error, 11, false));
  }

  void do_linger() {
    expires_after(deadlines_.linger);
    if (!linger_buffer_) {
      linger_buffer_ = std::make_unique<std::array<char, session_detail::linger_chunk_bytes>>();
    }
    stream_.async_read_some(
        boost::asio::buffer(*linger_buffer_),
        [self = this->shared_from_this()](boost::beast::error_code ec, std::size_t n) {
          self->lingered_ += n;
          if (ec || self->lingered_ > session_detail::linger_max_bytes) {
            self->do_close();
            return;
          }
          self->do_linger();
        });
  }

  void do_write(http::response res) {
    response_ = std::move(res);
    if (state_.stopping.load()) {
      response_.keep_alive(false);
    }
    // A client that stops reading cannot hold the connection: the write has the request's time.
    expires_after(deadlines_.request);
    wire_.clear();
    // A response to HEAD has the headers GET's would have, and no body.
    http::serialize(response_, wire_, request_.method() != boost::beast::http::verb::head);
    boost::asio::async_write(stream_, boost::asio::buffer(wire_),
                             [self = this->shared_from_this()](
                                 boost::beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(boost::beast::error_code ec) {
    --state_.in_flight;
    if (!ec) {
      record_exchange();
    }
    const bool keep_alive = response_.keep_alive();
    forget_exchange();
    if (ec) {
      return;
    }
    if (!keep_alive) {
      if (linger_) {
        do_linger();
      } else {
        do_close();
      }
      return;
    }
    // Idle until the next request is whole: a keep-alive connection may be closed to make room.
    limiter_.idle(ticket_);
    do_read();
  }

  // The client a trusted proxy reports in X-Forwarded-For; the proxy itself when it reports none.
  std::string client_behind_proxy() const {
    std::string hops;
    const auto [first, last] = request_.equal_range("X-Forwarded-For");
    for (auto it = first; it != last; ++it) {
      if (!hops.empty()) {
        hops.push_back(',');
      }
      hops.append(it->value().data(), it->value().size());
    }
    if (hops.empty()) {
      return peer_;
    }
    return forwarded_client(hops, state_.cfg.trusted_proxies).value_or(peer_);
  }

  // The access-log line and the request metrics for the answer just written.
  void record_exchange() {
    const auto request_id = http::new_request_id();
    std::string_view method;
    std::string_view target;
    if (routed_) {
      method = {request_.method_string().data(), request_.method_string().size()};
      target = {request_.target().data(), request_.target().size()};
    }
    const bool head = routed_ && request_.method() == boost::beast::http::verb::head;
    http::record(
        {std::string_view(request_id.data(), request_id.size()), context_.remote,
         routed_ ? &note_ : nullptr, method, target, response_.result_int(),
         head ? 0 : response_.body().size(),
         started_ ? std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - *started_)
                  : std::chrono::microseconds(0)});
    routed_ = false;
  }

  // A request and its answer may carry a password, a token, a cookie or a message's plaintext:
  // their bytes are zeroed before the memory is reused or freed, so no copy outlives the
  // exchange. (A member's own kernel socket buffers and OpenSSL's records are beyond reach.) The
  // memory itself is given back too: a keep-alive connection waiting for its next request holds
  // none of it.
  void forget_exchange() {
    wipe(request_);
    wipe(response_);
    wipe(wire_);
    release(wire_);
    response_ = {};
    request_ = {};
    // A parser left by a refused or failed read holds what it had of the request.
    if (parser_) {
      wipe(parser_->get());
      parser_.reset();
    }
    // The raw bytes of the request are still in the read buffer, behind what was consumed. When
    // nothing is pipelined, the buffer is freed, which zeroes it (its allocator does, as it does
    // for every block the buffer leaves as it grows); the next request's first bytes allocate it
    // again.
    if (buffer_.size() == 0) {
      buffer_.clear();
      buffer_.shrink_to_fit();
    }
  }

  // The body and the credentials' fields (Beast's own heap copies of their values; the views are
  // const only by interface) are zeroed, and the body's memory freed.
  template <bool is_request>
  static void wipe(
      boost::beast::http::message<is_request, boost::beast::http::string_body>& message) {
    wipe(message.body());
    release(message.body());
    for (const auto& f : message) {
      if (f.name() == boost::beast::http::field::authorization ||
          f.name() == boost::beast::http::field::cookie ||
          f.name() == boost::beast::http::field::set_cookie) {
        const auto value = f.value();
        secure_zero(const_cast<char*>(value.data()), value.size());
      }
    }
  }
  static void wipe(std::string& text) { secure_zero(text.data(), text.size()); }
  // Assigning an empty string keeps the old one's heap block; a swap hands it over to be freed.
  static void release(std::string& text) { std::string().swap(text); }

  clock::duration proving_timeout(clock::duration configured) const {
    return limiter_.under_pressure()
               ? std::min<clock::duration>(configured, session_detail::pressed_timeout)
               : configured;
  }

  // Whatever is pending on the stream when `timeout` has passed (a handshake, a read, a write)
  // fails: the lowest layer is closed under it. Replaces the deadline set before.
  void expires_after(clock::duration timeout) {
    deadline_.expires_after(timeout);  // the wait before, if any, ends with operation_aborted
    deadline_.async_wait([weak = this->weak_from_this()](const boost::system::error_code& ec) {
      if (auto self = weak.lock(); self && !ec) {
        self->on_deadline();
      }
    });
  }

  void no_deadline() { deadline_.expires_at(clock::time_point::max()); }

  void on_deadline() {
    // A wait that had completed when the deadline was moved finds it later than now: not yet.
    if (deadline_.expiry() > clock::now()) {
      return;
    }
    boost::beast::close_socket(boost::beast::get_lowest_layer(stream_));
  }

  // Chosen to make room for a newcomer: the peer has not even sent a request, nothing to say.
  void on_evicted() {
    log::debug("connection closed to make room: " + context_.remote);
    no_deadline();
    boost::beast::close_socket(boost::beast::get_lowest_layer(stream_));
  }

  void do_close() {
    expires_after(deadlines_.handshake);
    stream_.async_shutdown([self = this->shared_from_this()](boost::beast::error_code) {
      // Whatever the peer does now, the connection is over.
    });
  }

  // The context this connection was made with, kept alive for it even after a reload replaces it.
  std::shared_ptr<boost::asio::ssl::context> tls_;
  Stream stream_;
  boost::asio::steady_timer deadline_;
  completion_inbox& inbox_;  // of this connection's I/O thread
  shared_state& state_;
  // The limiter outlives every session (the server declares it first); state_ may not, when a
  // pending handler is destroyed with its pool at shutdown.
  connection_limiter& limiter_;
  connection_limiter::ticket ticket_;
  session_deadlines deadlines_;
  boost::beast::basic_flat_buffer<zeroing_allocator<char>> buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  http::request request_;
  http::response response_;
  std::string wire_;
  http::request_context context_;
  std::string peer_;  // the connection's client (after a PROXY header): context_.remote by default
  bool peer_is_proxy_ = false;  // a trusted proxy: each request's X-Forwarded-For names the client
  http::request_note note_;
  std::optional<clock::time_point> started_;
  bool routed_ = false;  // request_ holds a request that was read whole (not a refusal's)
  bool first_request_ = true;
  bool awaiting_next_ = false;  // a keep-alive connection waits for the next request's first byte
  bool linger_ = false;
  std::size_t lingered_ = 0;
  // Made only for a connection that lingers.
  std::unique_ptr<std::array<char, session_detail::linger_chunk_bytes>> linger_buffer_;
};

// Admits a connection from `remote` (an IP address) against the connection caps and, if it is
// let in, starts a session on it; else closes it (before the handshake, so it costs no TLS work).
// `framed`: a trusted proxy's PROXY protocol header named `remote` (basic_session).
template <class Stream>
void open_session(typename Stream::next_layer_type next, shared_state& state, std::string remote,
                  session_deadlines deadlines, bool framed = false) {
  // A trusted proxy's connections in HTTP mode carry many clients: it keeps its own caps, and
  // here it is held only to the overall one (each connection a group of its own). A connection
  // that a PROXY header framed is one client's, capped as that client's.
  static std::atomic<std::uint64_t> proxied{0};
  const bool from_proxy = !framed && is_trusted(state.cfg.trusted_proxies, remote);
  const auto group = from_proxy ? "proxy#" + std::to_string(++proxied) : std::string();
  auto admission =
      from_proxy ? state.connections.open(group, group)
                 : state.connections.open(auth::address_key(remote), auth::network_key(remote));
  using verdict = connection_limiter::verdict;
  if (admission.outcome != verdict::admitted) {
    log::debug("connection refused, over a connection cap: " + remote);
    if (admission.outcome == verdict::full) {
      static log::rate_limited full_log;
      full_log.write(log::level::warn,
                     "limits.max_connections reached by connections that are all busy with a "
                     "request: refusing new ones");
    }
    boost::beast::close_socket(boost::beast::get_lowest_layer(next));
    return;
  }
  if (admission.evicted) {
    static log::rate_limited evict_log;
    evict_log.write(log::level::warn,
                    "a connection cap is reached: closing the oldest connections that are "
                    "silent or idle to make room");
    admission.evicted();
  }
  auto fresh = std::make_shared<basic_session<Stream>>(std::move(next), state, std::move(remote),
                                                       admission.id, deadlines, framed);
  if (state.connections.watch(admission.id, fresh->evictor())) {
    fresh->start();
  }
}

}  // namespace hush::net
