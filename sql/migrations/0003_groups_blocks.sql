-- Groups, message requests, blocking, and the two privacy settings.

-- A thread's log also records who joined, left or was removed, and renames: system lines
-- with a seq like any message, so every client sees them in the same place, and so a removed
-- member's connections stop exactly at the line that removed them.
ALTER TABLE messages ADD COLUMN kind text NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'system'));
-- What a system line says, as data the pages put into words in each reader's language:
-- {"type": "member_added" | "member_removed" | "member_left" | "renamed" | "created", ...}.
ALTER TABLE messages ADD COLUMN event jsonb;

-- 'request': the first message from someone this member had never talked to, waiting for
-- them to accept it; it stays out of their list until they do.
ALTER TABLE thread_members ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'request'));

CREATE TABLE blocks (
  blocker_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  blocked_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (blocker_id, blocked_id),
  CHECK (blocker_id <> blocked_id)
);
-- "Who blocked me": checked on every new conversation and every 1:1 send.
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id, blocker_id);

-- Off: this person's reads are not shown to others (and they see no one else's).
ALTER TABLE users ADD COLUMN read_receipts boolean NOT NULL DEFAULT true;
-- Off: nobody sees whether this person is online or when they were last seen.
ALTER TABLE users ADD COLUMN show_presence boolean NOT NULL DEFAULT true;
