-- $1 blocker, $2 blocked. Blocking twice changes nothing.
INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING
