-- $1 user id, $2 send read receipts, $3 show presence (null: leave as it is).
UPDATE users
SET read_receipts = COALESCE($2, read_receipts), show_presence = COALESCE($3, show_presence)
WHERE id = $1
RETURNING read_receipts AS "readReceipts", show_presence AS "showPresence"
