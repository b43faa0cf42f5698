-- Whom a person has blocked, for their settings page. $1 blocker.
-- (The people by key, a probe each: a join or "= ANY" planned on a small table would scan
-- every user.)
SELECT u.id, u.username
FROM blocks b
CROSS JOIN LATERAL (SELECT id, username FROM users WHERE id = b.blocked_id OFFSET 0) AS u
WHERE b.blocker_id = $1
ORDER BY lower(u.username)
