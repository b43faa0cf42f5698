-- Core schema: people, their sessions (used when no Redis is configured),
-- conversations, who is in them, and the ordered log of messages.

CREATE TABLE users (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username      text NOT NULL CHECK (username ~ '^[A-Za-z0-9_.-]{3,32}$'),
  password_hash text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
-- "Alice" and "alice" are the same person to everyone who types the name.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));

-- Lucia's design: the token is "<id>.<secret>"; only a hash of the secret is stored.
CREATE TABLE sessions (
  id          text PRIMARY KEY,
  secret_hash bytea NOT NULL,
  user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE threads (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('direct', 'group')),
  -- "<lower id>:<higher id>" for a 1:1, so two people share exactly one thread.
  direct_key      text UNIQUE,
  title           text,
  created_by      bigint REFERENCES users (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  -- The last seq handed out; the send transaction locks this row to take the next ones.
  last_seq        integer NOT NULL DEFAULT 0,
  last_message_at timestamptz
);

CREATE TABLE thread_members (
  thread_id bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
  user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  joined_at timestamptz NOT NULL DEFAULT now(),
  -- Everything up to and including this seq has been seen by this member.
  read_seq  integer NOT NULL DEFAULT 0,
  PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX thread_members_user_idx ON thread_members (user_id, thread_id);

CREATE TABLE messages (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  thread_id  bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
  seq        integer NOT NULL,
  sender_id  bigint NOT NULL REFERENCES users (id),
  body       text NOT NULL,
  client_id  text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT messages_thread_seq_key UNIQUE (thread_id, seq)
);
-- A retried send (same sender, same clientId, same thread) finds the original instead of storing a copy.
CREATE UNIQUE INDEX messages_client_id_key ON messages (thread_id, sender_id, client_id) WHERE client_id IS NOT NULL;
-- Counting one sender's messages in a thread (counters rebuild) without reading the bodies.
CREATE INDEX messages_thread_sender_idx ON messages (thread_id, sender_id, seq);

-- Names this database. Redis keys and channels carry it, so instances of two different
-- databases sharing one Redis (a staging copy, a test run) never read each other's state.
CREATE TABLE installation (
  id         text PRIMARY KEY DEFAULT replace(gen_random_uuid()::text, '-', ''),
  created_at timestamptz NOT NULL DEFAULT now(),
  singleton  boolean NOT NULL DEFAULT true UNIQUE CHECK (singleton)
);
INSERT INTO installation DEFAULT VALUES;
