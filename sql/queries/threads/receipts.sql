-- Read receipts in a 1:1: how far the other member has read, if both send receipts (someone
-- who turned them off neither shows their reads nor sees others'), and only once both
-- accepted the conversation (opening a stranger's request tells them nothing).
-- $1 thread id, $2 the viewer. No row when there is nothing to show.
SELECT other.read_seq AS "readSeq"
-- (Each person by a probe of the key; see users/find_many.sql.)
FROM threads t
JOIN thread_members me ON me.thread_id = t.id AND me.user_id = $2
CROSS JOIN LATERAL (SELECT read_receipts FROM users WHERE id = me.user_id OFFSET 0) AS mu
JOIN thread_members other ON other.thread_id = t.id AND other.user_id <> $2
CROSS JOIN LATERAL (SELECT read_receipts FROM users WHERE id = other.user_id OFFSET 0) AS ou
WHERE t.id = $1 AND t.kind = 'direct' AND mu.read_receipts AND ou.read_receipts
  AND me.status = 'active' AND other.status = 'active'
