-- Messages after a seq, oldest first: history pages and every resume by cursor.
-- $1 thread id, $2 seq to start after, $3 page size, $4 the reader (null: everything), whose
-- view leaves out the messages of people they blocked (system lines always stay).
SELECT m.id, m.thread_id AS "threadId", m.seq, m.sender_id AS "senderId", u.username AS "senderName",
       m.body AS text, m.client_id AS "clientId", m.created_at AS "createdAt", m.kind, m.event
FROM messages m
-- The sender's name by a probe of the key per message (see users/find_many.sql).
CROSS JOIN LATERAL (SELECT username FROM users WHERE id = m.sender_id OFFSET 0) AS u
WHERE m.thread_id = $1 AND m.seq > $2
  AND ($4::bigint IS NULL OR m.kind = 'system'
       OR NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $4 AND b.blocked_id = m.sender_id))
ORDER BY m.seq
LIMIT $3
