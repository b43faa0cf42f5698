-- Move a member's read marker forward, never back and never past the last message.
-- $1 thread id, $2 user id, $3 seq read up to.
-- Returns the marker now in force and the one before, so callers know whether it moved.
WITH before AS (
  SELECT read_seq FROM thread_members WHERE thread_id = $1 AND user_id = $2 FOR UPDATE
)
UPDATE thread_members me
SET read_seq = GREATEST(me.read_seq, LEAST($3::int, t.last_seq)),
    read_at = CASE WHEN LEAST($3::int, t.last_seq) > me.read_seq THEN now() ELSE me.read_at END
FROM threads t, before
WHERE t.id = me.thread_id AND me.thread_id = $1 AND me.user_id = $2
RETURNING me.read_seq AS "readSeq", before.read_seq AS "previousReadSeq"
