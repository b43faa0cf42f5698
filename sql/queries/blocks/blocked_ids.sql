-- The ids a person blocked, for filtering what their live connections receive. $1 blocker.
SELECT blocked_id AS "blockedId" FROM blocks WHERE blocker_id = $1
