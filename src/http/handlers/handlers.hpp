#pragma once

#include <optional>
#include <string_view>

#include "auth/authenticator.hpp"
#include "club/club.hpp"
#include "config/config.hpp"
#include "http/types.hpp"

namespace hush::http {

// What handlers work with. Every handler is a function of the request, the authenticated member
// and these services, with no socket in sight, so that tests call it directly. Handlers touch the
// disk: the server runs them on its worker pool, never on an I/O thread.
struct services {
  club::club& club;
  auth::authenticator& auth;
  const config::config& cfg;
  // The CA's revocation list (DER), published at /ca.crl; null or empty: none.
  const published_bytes* crl = nullptr;
  // The server's in-memory views for reads on its I/O threads (router::serve_from_view); null:
  // every request takes the full path.
  club::read_views* views = nullptr;
  // The CA's certificate (PEM), published at /ca.pem for members to import; null or empty: none.
  const published_bytes* ca_cert = nullptr;
};

// A request target split into its path and query; the path is never percent-decoded, so encoded
// dots or slashes can never reach a route.
struct target {
  std::string_view path;
  std::string_view query;
};
target split_target(std::string_view raw) noexcept;

// Handlers take the member as a parameter: the router authenticates before it calls any of them,
// so a handler cannot forget to.
namespace handlers {

// The media type of a Fernet token, for end-to-end messages. A client asks for it with
// `Accept: application/vnd.fernet` or `?format=fernet`; a text message asked for so is 406.
inline constexpr std::string_view fernet_media_type = "application/vnd.fernet";

// GET /: the newest message as text/plain, for curl and scripts; an end-to-end message as its
// Fernet token (application/vnd.fernet), whatever was asked, since the server cannot open it.
reply newest_text(const request& req, const target& t, const request_context& ctx, services& s,
                  const auth::member& who);
// newest_text's answer from a read view, for the I/O threads (router::serve_from_view): the same
// message response, owing its audit as of the view; nullopt wherever newest_text would answer
// anything else (an error, no message, a format refused), which the full path then gives.
std::optional<reply> newest_text_from(const request& req, const target& t,
                                      const request_context& ctx, services& s,
                                      const auth::member& who, const club::read_view& view);
// GET /api/v1/messages?limit=N&before=ID: the messages `who` may see, with what applies to each
// (expires, max_reads and reads_left, to).
response list_messages(const request& req, const target& t, services& s, const auth::member& who);
// GET /api/v1/messages/{id}: JSON {id, created, author, format, body}; with the Fernet media type
// asked for, an end-to-end message's bare token.
reply get_message(const request& req, const target& t, const request_context& ctx, services& s,
                  const auth::member& who, store::message_id id);
// POST /api/v1/messages {"body": "...", "format"?: "text|fernet", "expires_in"?: SECONDS,
// "max_reads"?: N, "to"?: ["bob", "role:admin"]}
response post_message(const request& req, services& s, const auth::member& who);
// GET /api/v1/messages/{id}/reads: read receipts {"reads": [{"reader", "at"}]}, oldest first, for
// the message's author or an admin; 403 for another member who may see it, 404 otherwise.
response message_reads(const request& req, services& s, const auth::member& who,
                       store::message_id id);
// DELETE /api/v1/messages/{id}: an admin any message, a poster their own (club::remove); 403 for
// anyone else, 404 for no such message.
response delete_message(const request& req, services& s, const auth::member& who,
                        store::message_id id);

// The configured lifetime of browser sessions.
store::session_limits session_limits_of(const config::config& cfg) noexcept;
// POST /api/v1/session {"name": "...", "password": "..."}: checked like HTTP Basic (throttle,
// cache, Argon2id); sets the __Host-hush cookie and answers the member, the club's name and the
// CSRF token.
outcome log_in(const request& req, const request_context& ctx, services& s);
// GET /api/v1/session: who is logged in, the club's name (club.name, for members only), and for a
// session its CSRF token.
response whoami(const request& req, const services& s, const auth::member& who,
                std::optional<std::string_view> session_token);
// DELETE /api/v1/session: ends the session server-side and clears the cookie.
response log_out(const request& req, services& s, std::optional<std::string_view> session_token);

// GET /api/v1/members (admins)
response list_members(const request& req, services& s, const auth::member& who);
// POST /api/v1/members {"name": "...", "role": "reader|poster|admin"} (admins): answers the new
// member's generated password, once.
outcome add_member(const request& req, services& s, const auth::member& who);
// DELETE /api/v1/members/{name} (admins; not themselves): their tokens and sessions end with them.
response remove_member(const request& req, services& s, const auth::member& who,
                       std::string_view name);
// PUT /api/v1/members/{name}/password {"current_password": "...", "new_password": "..."}: a member
// changes their own password (forbidden for any other name, admins included). The current
// password is checked as a login is (throttle, cache, Argon2id on the hashing pool, where the new
// one is hashed too); a wrong one is 403 and counts as a failed login. The new hash is stored
// only if the one the current password was checked against is still the member's (409 conflict,
// nothing changed, otherwise). Every browser session of the member ends, `session_token`'s (the
// one the request came with, if any) too: with one, the answer is 200 {"csrf"} and the cookie of
// a new session; without one (Basic, Bearer, a certificate), 204. API tokens and client
// certificates stay.
outcome change_password(const request& req, const request_context& ctx, services& s,
                        const auth::member& who, std::string_view name,
                        std::optional<std::string_view> session_token);

}  // namespace handlers
}  // namespace hush::http
