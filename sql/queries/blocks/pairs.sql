-- Which of these (blocker, blocked) pairs are blocks. $1 blockers, $2 blocked (same length).
SELECT blocker_id AS "blockerId", blocked_id AS "blockedId"
FROM blocks
WHERE (blocker_id, blocked_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))
