-- Sends of a batch into a 1:1 with a block between the two (whether or not the other side is
-- still in it): `blocked` true when the other side blocked the sender, false when the sender
-- blocked the other side. $1 thread ids, $2 sender ids (one entry per send).
SELECT DISTINCT x.thread_id AS "threadId", x.sender_id AS "senderId", b.blocked_id = x.sender_id AS "blocked"
FROM unnest($1::bigint[], $2::bigint[]) AS x (thread_id, sender_id)
-- (t.id = ANY: the threads are found by key, whatever the plan cached when the table was small)
JOIN threads t ON t.id = x.thread_id AND t.id = ANY ($1::bigint[]) AND t.kind = 'direct'
JOIN blocks b ON (b.blocked_id = x.sender_id OR b.blocker_id = x.sender_id)
             AND b.blocker_id = ANY (string_to_array(t.direct_key, ':')::bigint[])
             AND b.blocked_id = ANY (string_to_array(t.direct_key, ':')::bigint[])
