-- Which sends of a batch go into a 1:1 whose other side blocked the sender (whether or not
-- that side is still in it). $1 thread ids, $2 sender ids (one entry per send).
SELECT DISTINCT x.thread_id AS "threadId", x.sender_id AS "senderId"
FROM unnest($1::bigint[], $2::bigint[]) AS x (thread_id, sender_id)
JOIN threads t ON t.id = x.thread_id AND t.kind = 'direct'
JOIN blocks b ON b.blocked_id = x.sender_id
             AND b.blocker_id = ANY (string_to_array(t.direct_key, ':')::bigint[])
             AND b.blocker_id <> x.sender_id
