-- $1 blocker, $2 blocked. The 1:1 of the two, if the blocker is in it, comes back to the
-- blocker's list: noted in the list's changes, for a feed that resumes.
WITH unblocked AS (
  DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2
  RETURNING blocker_id
)
INSERT INTO list_changes (user_id, thread_id, at)
SELECT u.blocker_id, t.id, now()
FROM unblocked u
CROSS JOIN LATERAL (SELECT id FROM threads WHERE direct_key = least($1::bigint, $2::bigint) || ':' || greatest($1::bigint, $2::bigint) LIMIT 1) t
WHERE EXISTS (SELECT 1 FROM thread_members m WHERE m.thread_id = t.id AND m.user_id = u.blocker_id)
ON CONFLICT (user_id, thread_id) DO UPDATE SET at = excluded.at
