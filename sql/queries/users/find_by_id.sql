-- $1 user id.
SELECT id, username
FROM users
WHERE id = $1
