-- Blocks between two people, in either direction. $1, $2 user ids.
SELECT blocker_id AS "blockerId", blocked_id AS "blockedId"
FROM blocks
WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1)
