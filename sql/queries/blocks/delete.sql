-- $1 blocker, $2 blocked.
DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2
