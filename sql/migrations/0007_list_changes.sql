-- What a resumed feed must hear of that leaves no time of its own in a conversation: the
-- person left it, was removed or declined it (their membership row is gone), accepted it
-- (a request joined their list), or blocked or unblocked the other side of a 1:1 (it left or
-- came back to their list). A resume from a cursor sends every conversation whose message,
-- read marker or join time is after the cursor; these changes move none of those, so each is
-- noted here, one row per person and conversation, holding the latest.
-- Rows are written by the few statements that make such changes (threads/remove_member.sql,
-- threads/accept.sql, blocks/insert.sql, blocks/delete.sql), never
-- on the send path. At most one row per membership there ever was: nothing to prune.
CREATE TABLE list_changes (
  user_id   bigint NOT NULL,
  thread_id bigint NOT NULL,
  at        timestamptz NOT NULL,
  PRIMARY KEY (user_id, thread_id)
);
