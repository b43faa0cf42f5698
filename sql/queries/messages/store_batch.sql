-- Store a batch of messages whose seqs were taken under the thread locks, in one statement:
-- the rows, each thread's new last seq and activity time, and each sender's read marker
-- (writing in a conversation is reading it; system lines do not count as reading).
-- $1 thread ids, $2 seqs, $3 sender ids, $4 texts, $5 client ids (null where none),
-- $6 kinds ('text' or 'system'), $7 system events as JSON text (null for text messages).
WITH batch AS (
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
    AS b (thread_id, seq, sender_id, body, client_id, kind, event)
), inserted AS (
  INSERT INTO messages (thread_id, seq, sender_id, body, client_id, kind, event)
  SELECT thread_id, seq, sender_id, body, client_id, kind, event::jsonb FROM batch
  RETURNING id, thread_id, seq, sender_id, body, client_id, created_at, kind, event
), advanced AS (
  UPDATE threads t
  SET last_seq = v.last_seq, last_message_at = now()
  FROM (SELECT thread_id, max(seq) AS last_seq FROM batch GROUP BY thread_id) AS v
  WHERE t.id = v.thread_id AND t.id = ANY ($1::bigint[]) -- by key, whatever plan was cached while the table was small
), read_own AS (
  UPDATE thread_members tm
  SET read_seq = v.seq, read_at = now()
  FROM (SELECT thread_id, sender_id, max(seq) AS seq FROM batch WHERE kind = 'text' GROUP BY thread_id, sender_id) AS v
  WHERE tm.thread_id = v.thread_id AND tm.user_id = v.sender_id AND tm.read_seq < v.seq
)
SELECT id, thread_id AS "threadId", seq, sender_id AS "senderId",
       body AS text, client_id AS "clientId", created_at AS "createdAt", kind, event
FROM inserted
