-- A group's system line ("ann added bob"), written under the thread lock the caller holds,
-- with the seq it took under that lock: the row, and the thread's new last seq and activity
-- time. (A system line is not reading, so no one's read marker moves.) Messages people send
-- go through parley_send (send.sql). $1 thread id, $2 seq, $3 who did it, $4 the line's
-- text, $5 the event as JSON text (typed text, so the driver sends it as it is, not as a
-- JSON string).
WITH inserted AS (
  INSERT INTO messages (thread_id, seq, sender_id, body, kind, event)
  VALUES ($1, $2, $3, $4, 'system', $5::text::jsonb)
  RETURNING id, thread_id, seq, sender_id, body, client_id, created_at, kind, event
), advanced AS (
  UPDATE threads SET last_seq = $2, last_message_at = now() WHERE id = $1
)
SELECT id, thread_id AS "threadId", seq, sender_id AS "senderId",
       body AS text, client_id AS "clientId", created_at AS "createdAt", kind, event
FROM inserted
