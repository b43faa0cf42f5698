-- Declining a message request: the person leaves the conversation without a trace in it
-- (but in their own list's changes, for a feed that resumes later).
-- $1 thread id, $2 user id. Returns no row when they were not in it.
WITH gone AS (
  DELETE FROM thread_members WHERE thread_id = $1 AND user_id = $2
  RETURNING thread_id, user_id
), noted AS (
  INSERT INTO list_changes (user_id, thread_id, at)
  SELECT user_id, thread_id, now() FROM gone
  ON CONFLICT (user_id, thread_id) DO UPDATE SET at = excluded.at
)
SELECT user_id AS "userId" FROM gone
