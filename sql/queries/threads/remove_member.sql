-- Someone leaves a conversation (a group, or a 1:1 request they decline) or is removed from a
-- group; their list's changes note it, for a feed that resumes later.
-- $1 thread id, $2 user id. Returns no row when they were not a member.
WITH gone AS (
  DELETE FROM thread_members WHERE thread_id = $1 AND user_id = $2
  RETURNING thread_id, user_id
), noted AS (
  INSERT INTO list_changes (user_id, thread_id, at)
  SELECT user_id, thread_id, now() FROM gone
  ON CONFLICT (user_id, thread_id) DO UPDATE SET at = excluded.at
)
SELECT user_id AS "userId" FROM gone
