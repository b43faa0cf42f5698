-- Messages after a seq, oldest first: history pages and every resume by cursor.
-- $1 thread id, $2 seq to start after, $3 page size.
SELECT m.id, m.thread_id AS "threadId", m.seq, m.sender_id AS "senderId", u.username AS "senderName",
       m.body AS text, m.client_id AS "clientId", m.created_at AS "createdAt"
FROM messages m
JOIN users u ON u.id = m.sender_id
WHERE m.thread_id = $1 AND m.seq > $2
ORDER BY m.seq
LIMIT $3
