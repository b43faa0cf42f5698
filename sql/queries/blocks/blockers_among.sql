-- Which of some people blocked one person. $1 the person, $2 the people.
SELECT blocker_id AS "blockerId" FROM blocks WHERE blocked_id = $1 AND blocker_id = ANY ($2::bigint[])
