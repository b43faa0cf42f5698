-- Messages already stored under the clientIds of a batch (retried sends). Run under the
-- thread locks, so the answer cannot change before the insert. $1 thread ids, $2 sender ids,
-- $3 client ids (same length, one entry per send).
SELECT m.id, m.thread_id AS "threadId", m.seq, m.sender_id AS "senderId",
       m.body AS text, m.client_id AS "clientId", m.created_at AS "createdAt", m.kind, m.event
FROM messages m
WHERE (m.thread_id, m.sender_id, m.client_id)
      IN (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[]))
