-- $1 blocker, $2 blocked. Blocking twice changes nothing. The 1:1 of the two, if the blocker
-- is in it, leaves the blocker's list: noted in the list's changes, for a feed that resumes.
WITH blocked AS (
  INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING
  RETURNING blocker_id
)
INSERT INTO list_changes (user_id, thread_id, at)
SELECT b.blocker_id, t.id, now()
FROM blocked b
CROSS JOIN LATERAL (SELECT id FROM threads WHERE direct_key = least($1::bigint, $2::bigint) || ':' || greatest($1::bigint, $2::bigint) LIMIT 1) t
WHERE EXISTS (SELECT 1 FROM thread_members m WHERE m.thread_id = t.id AND m.user_id = b.blocker_id)
ON CONFLICT (user_id, thread_id) DO UPDATE SET at = excluded.at
