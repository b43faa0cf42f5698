-- Declining a message request: the person leaves the conversation without a trace in it.
-- $1 thread id, $2 user id. Returns no row when they were not in it.
DELETE FROM thread_members WHERE thread_id = $1 AND user_id = $2
RETURNING user_id AS "userId"
