-- Slide a session's expiry. $1 session id, $2 new expiry.
UPDATE sessions SET expires_at = $2 WHERE id = $1
