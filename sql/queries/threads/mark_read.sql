-- Move a member's read marker forward, never back and never past the last message.
-- $1 thread id, $2 user id, $3 seq read up to. Returns the marker now in force.
UPDATE thread_members me
SET read_seq = GREATEST(me.read_seq, LEAST($3::int, t.last_seq))
FROM threads t
WHERE t.id = me.thread_id AND me.thread_id = $1 AND me.user_id = $2
RETURNING me.read_seq AS "readSeq"
