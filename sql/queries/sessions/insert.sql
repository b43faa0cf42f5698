-- Embedded mode's session store. $1 id, $2 sha-256 of the secret, $3 user id, $4 expiry.
INSERT INTO sessions (id, secret_hash, user_id, expires_at)
VALUES ($1, $2, $3, $4)
