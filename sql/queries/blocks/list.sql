-- Whom a person has blocked, for their settings page. $1 blocker.
SELECT u.id, u.username
FROM blocks b JOIN users u ON u.id = b.blocked_id
WHERE b.blocker_id = $1
ORDER BY lower(u.username)
