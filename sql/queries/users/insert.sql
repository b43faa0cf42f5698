-- Create an account. $1 username, $2 password hash.
-- Returns no row when the name is taken in any letter case (the unique index on lower(username)).
INSERT INTO users (username, password_hash)
VALUES ($1, $2)
ON CONFLICT DO NOTHING
RETURNING id, username
