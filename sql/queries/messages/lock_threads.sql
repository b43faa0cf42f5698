-- First statement of a send transaction: lock the threads being written to, in id order so
-- two transactions touching the same threads never deadlock. What the send needs of them is
-- read by the next statement (send_batch), whose snapshot is taken after these locks.
-- $1 thread ids.
SELECT id
FROM threads
WHERE id = ANY ($1::bigint[])
ORDER BY id
FOR UPDATE
