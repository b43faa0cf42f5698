-- First statement of a send transaction: lock the threads being written to, in id order so
-- two transactions touching the same threads never deadlock, and read what the rest of the
-- transaction and the feed need. $1 thread ids.
SELECT id, kind, title, direct_key AS "directKey", last_seq AS "lastSeq"
FROM threads
WHERE id = ANY ($1::bigint[])
ORDER BY id
FOR UPDATE
