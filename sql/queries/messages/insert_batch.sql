-- Store a batch of messages whose seqs were taken under the thread locks.
-- $1 thread ids, $2 seqs, $3 sender ids, $4 texts, $5 client ids (null where none),
-- $6 kinds ('text' or 'system'), $7 system events as JSON text (null for text messages).
INSERT INTO messages (thread_id, seq, sender_id, body, client_id, kind, event)
SELECT thread_id, seq, sender_id, body, client_id, kind, event::jsonb
FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
  AS batch (thread_id, seq, sender_id, body, client_id, kind, event)
RETURNING id, thread_id AS "threadId", seq, sender_id AS "senderId",
          body AS text, client_id AS "clientId", created_at AS "createdAt", kind, event
