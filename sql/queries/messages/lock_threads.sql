-- First statement of a send transaction: lock the threads being written to, in id order so
-- two transactions touching the same threads never deadlock. What the send needs of them is
-- read by the next statement (send_batch), whose snapshot is taken after these locks.
-- $1 thread ids.
-- Each thread is found by a probe of its key (see send_batch.sql), one after another in id order.
SELECT t.id
FROM (SELECT DISTINCT u.id FROM unnest($1::bigint[]) AS u (id) ORDER BY u.id) AS ids
CROSS JOIN LATERAL (SELECT id FROM threads WHERE id = ids.id FOR UPDATE) AS t
