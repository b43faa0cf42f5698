-- Everyone in a thread. $1 thread id.
SELECT user_id AS "userId" FROM thread_members WHERE thread_id = $1
