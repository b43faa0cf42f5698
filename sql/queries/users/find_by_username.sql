-- Look a person up by name, in any letter case. $1 username.
SELECT id, username, password_hash AS "passwordHash"
FROM users
WHERE lower(username) = lower($1)
