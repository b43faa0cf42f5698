-- A person's privacy settings. $1 user id.
SELECT read_receipts AS "readReceipts", show_presence AS "showPresence" FROM users WHERE id = $1
