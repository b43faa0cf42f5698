-- A session with the person it belongs to. $1 session id.
SELECT s.id, s.secret_hash AS "secretHash", s.expires_at AS "expiresAt",
       u.id AS "userId", u.username
FROM sessions s
JOIN users u ON u.id = s.user_id
WHERE s.id = $1
