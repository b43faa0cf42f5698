-- When each member's read marker last moved: a person's feed resumes from a time, and
-- "what changed since" includes markers moved on their other devices.
ALTER TABLE thread_members ADD COLUMN read_at timestamptz;
-- Threads by last activity, for the feed's "what changed since".
CREATE INDEX threads_last_message_at_idx ON threads (last_message_at);
