-- $1 thread id, $2 user id. One row when the person is in the thread.
SELECT 1 AS member FROM thread_members WHERE thread_id = $1 AND user_id = $2
