-- Accept a message request: the conversation joins the member's list (noted in the list's
-- changes, for a feed that resumes later). $1 thread id, $2 user id. Returns no row when
-- there was no request.
WITH accepted AS (
  UPDATE thread_members SET status = 'active'
  WHERE thread_id = $1 AND user_id = $2 AND status = 'request'
  RETURNING thread_id, user_id
), noted AS (
  INSERT INTO list_changes (user_id, thread_id, at)
  SELECT user_id, thread_id, now() FROM accepted
  ON CONFLICT (user_id, thread_id) DO UPDATE SET at = excluded.at
)
SELECT user_id AS "userId" FROM accepted
