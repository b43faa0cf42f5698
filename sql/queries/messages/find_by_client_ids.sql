-- Messages already stored under the clientIds of a batch (retried sends). Run under the
-- thread locks, so the answer cannot change before the insert. $1 thread ids, $2 sender ids,
-- $3 client ids (same length, one entry per send).
-- One index probe per send, written so that no plan can do otherwise: a plan cached while
-- messages was nearly empty would otherwise scan the whole table on every call.
-- (LIMIT 1 keeps the subquery from being flattened into a join; the unique index allows one row.)
SELECT m.id, m.thread_id AS "threadId", m.seq, m.sender_id AS "senderId",
       m.body AS text, m.client_id AS "clientId", m.created_at AS "createdAt", m.kind, m.event
FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS x (thread_id, sender_id, client_id)
CROSS JOIN LATERAL (
  SELECT * FROM messages m
  WHERE m.thread_id = x.thread_id AND m.sender_id = x.sender_id AND m.client_id = x.client_id
  LIMIT 1
) m
