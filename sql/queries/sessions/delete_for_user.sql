-- "Log out everywhere". $1 user id.
DELETE FROM sessions WHERE user_id = $1
