-- Everyone in the threads of a batch, read under the thread locks: whether each sender may
-- write, and whose feed hears of it. A member removed a moment ago cannot slip a message in.
-- $1 thread ids.
SELECT thread_id AS "threadId", user_id AS "userId", status
FROM thread_members
WHERE thread_id = ANY ($1::bigint[])
