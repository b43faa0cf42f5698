-- $1 session id.
DELETE FROM sessions WHERE id = $1
