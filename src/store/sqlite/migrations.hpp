#pragma once

#include <array>

namespace hush::store::sqlite_migrations {

// Migration N brings the schema from user_version N to N+1. Append only: never edit one that has
// shipped. Member and author names are stored as text, not foreign keys, so that removing a member
// leaves the messages they posted and the audit trail of what they read.
inline constexpr std::array steps = {
    R"sql(
CREATE TABLE members (
  id            INTEGER PRIMARY KEY,
  name          TEXT    NOT NULL UNIQUE,
  role          TEXT    NOT NULL CHECK (role IN ('reader', 'poster', 'admin')),
  password_hash TEXT    NOT NULL,
  created_at    INTEGER NOT NULL
);
CREATE TABLE data_keys (
  id         INTEGER PRIMARY KEY,
  wrapped    BLOB    NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE messages (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  author     TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  sealed     BLOB    NOT NULL
);
CREATE TABLE audit (
  id         INTEGER PRIMARY KEY,
  at         INTEGER NOT NULL,
  member     TEXT    NOT NULL,
  message_id INTEGER NOT NULL,
  remote     TEXT    NOT NULL
);
)sql",
    R"sql(
CREATE TABLE tokens (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE,
  member     TEXT    NOT NULL REFERENCES members (name) ON DELETE CASCADE,
  hash       BLOB    NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX tokens_member ON tokens (member);
)sql",
    R"sql(
CREATE TABLE sessions (
  id           INTEGER PRIMARY KEY,
  hash         BLOB    NOT NULL UNIQUE,
  member       TEXT    NOT NULL REFERENCES members (name) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL
);
CREATE INDEX sessions_member ON sessions (member);
)sql",
    // Client certificates issued by the club CA. `serial` is the canonical form of
    // pki::canonical_serial: lowercase hex, no leading zeros, no separators. No foreign key on
    // `member`: removing a member revokes their certificates (revoked_at, unix seconds; 0 = valid)
    // and keeps the rows, so that the CRL goes on listing them.
    R"sql(
CREATE TABLE client_certs (
  serial     TEXT    PRIMARY KEY,
  member     TEXT    NOT NULL,
  issued_at  INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX client_certs_member ON client_certs (member);
)sql",
    // End-to-end messages: the sealed body is a Fernet token the server cannot open.
    R"sql(
ALTER TABLE messages ADD COLUMN format TEXT NOT NULL DEFAULT 'text'
  CHECK (format IN ('text', 'fernet'));
)sql",
    // The session sweep at each login and the audit retention prune search by time.
    R"sql(
CREATE INDEX sessions_last_used ON sessions (last_used_at);
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX audit_at ON audit (at);
)sql",
    // Small named values about the club itself, e.g. the master key's check (club::key_check).
    R"sql(
CREATE TABLE club_meta (
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
)sql",
    // Server certificates the club CA issued (`hush init` and `hush cert renew`: kind 'server';
    // `hush ca sign`: kind 'csr'), so that they can be revoked like members' certificates; `names`
    // is their subjectAltName hosts, comma-separated. Client certificates stay in client_certs,
    // which the server's certificate check reads. And the CRL number, which only grows: it starts
    // at the time of this migration, above every number the lists written before it (which used
    // the time) carried.
    R"sql(
CREATE TABLE server_certs (
  serial     TEXT    PRIMARY KEY,
  kind       TEXT    NOT NULL CHECK (kind IN ('server', 'csr')),
  names      TEXT    NOT NULL,
  issued_at  INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE crl_counter (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  number INTEGER NOT NULL
);
INSERT INTO crl_counter (id, number) VALUES (1, CAST(strftime('%s', 'now') AS INTEGER));
)sql",
    // The change generation (view_store): every committed change to what a read from memory
    // relies on makes it larger, whoever made it, even by hand with the sqlite3 shell; sessions
    // being used and audit records do not touch it. Each step is random (1 to 2^32), so that a
    // database put back to an older state and changed again does not come back to a generation
    // it had with other contents (2^31 changes before it could overflow).
    R"sql(
CREATE TABLE change_generation (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL
);
INSERT INTO change_generation (id, value) VALUES (1, 1);
CREATE TRIGGER members_changed_insert AFTER INSERT ON members
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER members_changed_update AFTER UPDATE ON members
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER members_changed_delete AFTER DELETE ON members
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER tokens_changed_insert AFTER INSERT ON tokens
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER tokens_changed_update AFTER UPDATE ON tokens
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER tokens_changed_delete AFTER DELETE ON tokens
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER messages_changed_insert AFTER INSERT ON messages
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER messages_changed_update AFTER UPDATE ON messages
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER messages_changed_delete AFTER DELETE ON messages
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER client_certs_changed_insert AFTER INSERT ON client_certs
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER client_certs_changed_update AFTER UPDATE ON client_certs
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER client_certs_changed_delete AFTER DELETE ON client_certs
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
)sql",
    // Messages with a life (issue 16): an expiry (unix seconds, 0 never), a number of reads after
    // which the message is removed (0 unlimited) and the reads counted so far, the author's member
    // id (0 for the messages posted before, which have no terms, so that it mattered for none), and
    // recipients: members by id or roles; a message without any is for the whole club. A member
    // who leaves is zeroed out of both by a trigger, so that a new member who gets the same id
    // (SQLite reuses the largest rowid) inherits nothing: a recipient row with member_id 0 and no
    // role is "a member who has left", and still keeps the message from the rest of the club.
    // Recipient rows move the change generation as message rows do. The indexes: the sweeper's
    // (expired messages), a member's removal (their recipient rows and messages), read receipts
    // (the audit trail of one message).
    R"sql(
ALTER TABLE messages ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0 CHECK (expires_at >= 0);
ALTER TABLE messages ADD COLUMN max_reads INTEGER NOT NULL DEFAULT 0 CHECK (max_reads >= 0);
ALTER TABLE messages ADD COLUMN reads INTEGER NOT NULL DEFAULT 0 CHECK (reads >= 0);
ALTER TABLE messages ADD COLUMN author_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_expires ON messages (expires_at) WHERE expires_at <> 0;
CREATE INDEX messages_author_id ON messages (author_id) WHERE author_id <> 0;
CREATE TABLE message_recipients (
  id         INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  member_id  INTEGER NOT NULL DEFAULT 0,
  role       TEXT    NOT NULL DEFAULT '' CHECK (role IN ('', 'reader', 'poster', 'admin')),
  CHECK (member_id = 0 OR role = '')
);
CREATE INDEX message_recipients_message ON message_recipients (message_id);
CREATE INDEX message_recipients_member ON message_recipients (member_id) WHERE member_id <> 0;
CREATE INDEX audit_message ON audit (message_id);
CREATE TRIGGER members_left_messages AFTER DELETE ON members
  BEGIN
    UPDATE message_recipients SET member_id = 0 WHERE member_id = OLD.id;
    UPDATE messages SET author_id = 0 WHERE author_id = OLD.id;
  END;
CREATE TRIGGER message_recipients_changed_insert AFTER INSERT ON message_recipients
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER message_recipients_changed_update AFTER UPDATE ON message_recipients
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
CREATE TRIGGER message_recipients_changed_delete AFTER DELETE ON message_recipients
  BEGIN UPDATE change_generation SET value = value + 1 + abs(random() % 4294967296) WHERE id = 1; END;
)sql",
    // The authors of the messages posted before author_id, found by name: a message's poster may
    // then still remove it and see its receipts. Only a member who already existed when the
    // message was posted: one who took a departed member's name later inherits nothing.
    R"sql(
UPDATE messages SET author_id = coalesce(
  (SELECT m.id FROM members m WHERE m.name = messages.author AND m.created_at <= messages.created_at),
  0)
WHERE author_id = 0;
)sql",
};

}  // namespace hush::store::sqlite_migrations
