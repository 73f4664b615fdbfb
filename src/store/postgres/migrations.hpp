#pragma once

#include <array>

namespace hush::store::postgres_migrations {

// Migration N brings the schema from version N to N+1 (hush_schema_version). Append only: never
// edit one that has shipped. The tables and their meaning are SQLite's (sqlite/migrations.hpp),
// as they stand after its last migration: BIGINT for SQLite's INTEGER, BYTEA for BLOB. Member and
// author names are text, not foreign keys, so that removing a member leaves the messages they
// posted and the audit trail of what they read. Text is compared and sorted by its bytes
// (COLLATE "C"), as SQLite does: names are unique byte for byte, and lists come in byte order.
inline constexpr std::array steps = {
    R"sql(
CREATE TABLE members (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          TEXT COLLATE "C"   NOT NULL UNIQUE,
  role          TEXT COLLATE "C"   NOT NULL CHECK (role IN ('reader', 'poster', 'admin')),
  password_hash TEXT COLLATE "C"   NOT NULL,
  created_at    BIGINT NOT NULL
);
CREATE TABLE data_keys (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  wrapped    BYTEA  NOT NULL,
  created_at BIGINT NOT NULL
);
-- A sequence never hands out an id twice, so an id never names two messages.
CREATE TABLE messages (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  author     TEXT COLLATE "C"   NOT NULL,
  created_at BIGINT NOT NULL,
  sealed     BYTEA  NOT NULL,
  format     TEXT COLLATE "C"   NOT NULL DEFAULT 'text' CHECK (format IN ('text', 'fernet'))
);
CREATE TABLE audit (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at         BIGINT NOT NULL,
  member     TEXT COLLATE "C"   NOT NULL,
  message_id BIGINT NOT NULL,
  remote     TEXT COLLATE "C"   NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE TABLE tokens (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       TEXT COLLATE "C"   NOT NULL UNIQUE,
  member     TEXT COLLATE "C"   NOT NULL REFERENCES members (name) ON DELETE CASCADE,
  hash       BYTEA  NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX tokens_member ON tokens (member);
CREATE TABLE sessions (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  hash         BYTEA  NOT NULL UNIQUE,
  member       TEXT COLLATE "C"   NOT NULL REFERENCES members (name) ON DELETE CASCADE,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL
);
CREATE INDEX sessions_member ON sessions (member);
CREATE INDEX sessions_last_used ON sessions (last_used_at);
CREATE INDEX sessions_created ON sessions (created_at);
-- No foreign key on member: removing a member revokes their certificates and keeps the rows,
-- so that the CRL goes on listing them.
CREATE TABLE client_certs (
  serial     TEXT COLLATE "C"   PRIMARY KEY,
  member     TEXT COLLATE "C"   NOT NULL,
  issued_at  BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX client_certs_member ON client_certs (member);
CREATE TABLE club_meta (
  name  TEXT COLLATE "C"  PRIMARY KEY,
  value BYTEA NOT NULL
);
CREATE TABLE server_certs (
  serial     TEXT COLLATE "C"   PRIMARY KEY,
  kind       TEXT COLLATE "C"   NOT NULL CHECK (kind IN ('server', 'csr')),
  names      TEXT COLLATE "C"   NOT NULL,
  issued_at  BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL DEFAULT 0
);
-- The CRL number only grows; it starts at the time the club's database was made, as SQLite's.
CREATE TABLE crl_counter (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  number BIGINT  NOT NULL
);
INSERT INTO crl_counter (id, number) VALUES (1, extract(epoch FROM now())::bigint);

-- The change generation (view_store): every committed change to members, tokens, messages or
-- client_certs makes it larger, in the same transaction, whoever made it (psql included);
-- sessions and audit records do not touch it. Each step is random (1 to 2^32), as SQLite's, so
-- that a database put back to an older state and changed again does not come back to a
-- generation it had with other contents.
CREATE TABLE change_generation (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  value BIGINT  NOT NULL
);
INSERT INTO change_generation (id, value) VALUES (1, 1);
-- Before a statement touches any row, it locks the generation's row. Every change to the four
-- tables thus takes the generation's lock before any row lock of theirs, always in that order,
-- so two changes never deadlock over it; and an audit commit that holds the row FOR SHARE keeps
-- every change out until it commits (view_store::add_audits_as_of).
CREATE FUNCTION hush_lock_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM change_generation WHERE id = 1 FOR UPDATE;
  RETURN NULL;
END $$;
-- For each row changed, so that a statement that changes nothing moves nothing (and once for a
-- TRUNCATE, which has no rows to fire for). NOTIFY is
-- delivered at commit, once per transaction (duplicates fold), to whoever listens.
CREATE FUNCTION hush_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE change_generation SET value = value + 1 + floor(random() * 4294967296)::bigint
    WHERE id = 1;
  PERFORM pg_notify('hush_changes', '');
  RETURN NULL;
END $$;
CREATE TRIGGER members_lock_generation
  BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON members
  FOR EACH STATEMENT EXECUTE FUNCTION hush_lock_generation();
CREATE TRIGGER members_changed AFTER INSERT OR UPDATE OR DELETE ON members
  FOR EACH ROW EXECUTE FUNCTION hush_bump_generation();
CREATE TRIGGER members_truncated AFTER TRUNCATE ON members
  FOR EACH STATEMENT EXECUTE FUNCTION hush_bump_generation();
CREATE TRIGGER tokens_lock_generation
  BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tokens
  FOR EACH STATEMENT EXECUTE FUNCTION hush_lock_generation();
CREATE TRIGGER tokens_changed AFTER INSERT OR UPDATE OR DELETE ON tokens
  FOR EACH ROW EXECUTE FUNCTION hush_bump_generation();
CREATE TRIGGER tokens_truncated AFTER TRUNCATE ON tokens
  FOR EACH STATEMENT EXECUTE FUNCTION hush_bump_generation();
CREATE TRIGGER messages_lock_generation
  BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON messages
  FOR EACH STATEMENT EXECUTE FUNCTION hush_lock_generation();
CREATE TRIGGER messages_changed AFTER INSERT OR UPDATE OR DELETE ON messages
  FOR EACH ROW EXECUTE FUNCTION hush_bump_generation();
CREATE TRIGGER messages_truncated AFTER TRUNCATE ON messages
  FOR EACH STATEMENT EXECUTE FUNCTION hush_bump_generation();
CREATE TRIGGER client_certs_lock_generation
  BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON client_certs
  FOR EACH STATEMENT EXECUTE FUNCTION hush_lock_generation();
CREATE TRIGGER client_certs_changed AFTER INSERT OR UPDATE OR DELETE ON client_certs
  FOR EACH ROW EXECUTE FUNCTION hush_bump_generation();
CREATE TRIGGER client_certs_truncated AFTER TRUNCATE ON client_certs
  FOR EACH STATEMENT EXECUTE FUNCTION hush_bump_generation();
)sql",
    // The generation's triggers fire always, also under session_replication_role = replica
    // (logical replication, pg_restore --disable-triggers, a superuser's SET): a change made
    // there must still move it, or a server would go on serving what it changed from memory.
    R"sql(
ALTER TABLE members ENABLE ALWAYS TRIGGER members_lock_generation;
ALTER TABLE members ENABLE ALWAYS TRIGGER members_changed;
ALTER TABLE members ENABLE ALWAYS TRIGGER members_truncated;
ALTER TABLE tokens ENABLE ALWAYS TRIGGER tokens_lock_generation;
ALTER TABLE tokens ENABLE ALWAYS TRIGGER tokens_changed;
ALTER TABLE tokens ENABLE ALWAYS TRIGGER tokens_truncated;
ALTER TABLE messages ENABLE ALWAYS TRIGGER messages_lock_generation;
ALTER TABLE messages ENABLE ALWAYS TRIGGER messages_changed;
ALTER TABLE messages ENABLE ALWAYS TRIGGER messages_truncated;
ALTER TABLE client_certs ENABLE ALWAYS TRIGGER client_certs_lock_generation;
ALTER TABLE client_certs ENABLE ALWAYS TRIGGER client_certs_changed;
ALTER TABLE client_certs ENABLE ALWAYS TRIGGER client_certs_truncated;
)sql",
    // The guessing throttle's counts (guess_store), shared by every instance: a guesser spread
    // over them is throttled as if there were one. Keys are keyed hashes (app::guess_ledger);
    // times on the server's clock; previous_failure is the one before last_failure, which says
    // whether the key was blocked as the last one came in.
    R"sql(
CREATE TABLE guesses (
  key TEXT COLLATE "C" PRIMARY KEY,
  failures INTEGER NOT NULL,
  last_failure TIMESTAMPTZ NOT NULL,
  previous_failure TIMESTAMPTZ NOT NULL
);
CREATE INDEX guesses_last_failure ON guesses (last_failure);
)sql",
    // Messages with a life (issue 16), as SQLite's migration 10: an expiry (unix seconds, 0
    // never), a number of reads after which the message is removed (0 unlimited) and the reads
    // counted so far, the author's member id (0 for the messages posted before, which have no
    // terms), and recipients: members by id or roles; a message without any is for the whole
    // club. A member who leaves is zeroed out of both by a trigger (identities are never handed
    // out twice here, but a copy from SQLite brings ids SQLite may reuse, and the rule is the
    // same in both): a recipient row with member_id 0 and no role is "a member who has left", and
    // still keeps the message from the rest of the club. Recipient rows move the change
    // generation as message rows do, with the same lock-first order. The indexes: the sweeper's
    // (expired messages), a member's removal (their recipient rows and messages), read receipts
    // (the audit trail of one message, in the order added).
    R"sql(
ALTER TABLE messages
  ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0 CHECK (expires_at >= 0),
  ADD COLUMN max_reads  BIGINT NOT NULL DEFAULT 0 CHECK (max_reads >= 0),
  ADD COLUMN reads      BIGINT NOT NULL DEFAULT 0 CHECK (reads >= 0),
  ADD COLUMN author_id  BIGINT NOT NULL DEFAULT 0;
CREATE INDEX messages_expires ON messages (expires_at) WHERE expires_at <> 0;
CREATE INDEX messages_author_id ON messages (author_id) WHERE author_id <> 0;
CREATE TABLE message_recipients (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  member_id  BIGINT NOT NULL DEFAULT 0,
  role       TEXT COLLATE "C" NOT NULL DEFAULT '' CHECK (role IN ('', 'reader', 'poster', 'admin')),
  CHECK (member_id = 0 OR role = '')
);
CREATE INDEX message_recipients_message ON message_recipients (message_id);
CREATE INDEX message_recipients_member ON message_recipients (member_id) WHERE member_id <> 0;
CREATE INDEX audit_message ON audit (message_id, id);
CREATE FUNCTION hush_member_left() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE message_recipients SET member_id = 0 WHERE member_id = OLD.id;
  UPDATE messages SET author_id = 0 WHERE author_id = OLD.id;
  RETURN NULL;
END $$;
CREATE TRIGGER members_left_messages AFTER DELETE ON members
  FOR EACH ROW EXECUTE FUNCTION hush_member_left();
CREATE TRIGGER message_recipients_lock_generation
  BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON message_recipients
  FOR EACH STATEMENT EXECUTE FUNCTION hush_lock_generation();
CREATE TRIGGER message_recipients_changed AFTER INSERT OR UPDATE OR DELETE ON message_recipients
  FOR EACH ROW EXECUTE FUNCTION hush_bump_generation();
CREATE TRIGGER message_recipients_truncated AFTER TRUNCATE ON message_recipients
  FOR EACH STATEMENT EXECUTE FUNCTION hush_bump_generation();
ALTER TABLE message_recipients ENABLE ALWAYS TRIGGER message_recipients_lock_generation;
ALTER TABLE message_recipients ENABLE ALWAYS TRIGGER message_recipients_changed;
ALTER TABLE message_recipients ENABLE ALWAYS TRIGGER message_recipients_truncated;
)sql",
    // As SQLite's migration 11: the authors of the messages posted before author_id, by name, if
    // they were members when they posted.
    R"sql(
UPDATE messages SET author_id = coalesce(
  (SELECT m.id FROM members m WHERE m.name = messages.author AND m.created_at <= messages.created_at),
  0)
WHERE author_id = 0;
)sql",
};

// The triggers exactness rests on (postgres_store::snapshot checks they are all there and enabled
// ALWAYS). A trigger disabled, a change made and the trigger enabled again between two
// snapshots cannot be seen afterwards: docs/scaling.md warns against it.
inline constexpr const char* change_triggers_sql =
    "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE NOT t.tgisinternal AND t.tgenabled = 'A' AND c.oid IN "
    "('members'::regclass, 'tokens'::regclass, 'messages'::regclass, "
    "'message_recipients'::regclass, "
    "'client_certs'::regclass) AND t.tgname IN ('members_lock_generation', 'members_changed', "
    "'tokens_lock_generation', 'tokens_changed', 'messages_lock_generation', "
    "'messages_changed', 'client_certs_lock_generation', 'client_certs_changed', "
    "'members_truncated', 'tokens_truncated', 'messages_truncated', 'client_certs_truncated', "
    "'message_recipients_lock_generation', 'message_recipients_changed', "
    "'message_recipients_truncated')";
inline constexpr long change_triggers = 15;

}  // namespace hush::store::postgres_migrations
