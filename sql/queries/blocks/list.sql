-- Whom a person has blocked, for their settings page. $1 blocker.
-- (The people by key: a join planned on a small table would scan every user.)
SELECT u.id, u.username
FROM users u
WHERE u.id = ANY (ARRAY(SELECT b.blocked_id FROM blocks b WHERE b.blocker_id = $1))
ORDER BY lower(u.username)
