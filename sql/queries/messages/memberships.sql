-- Which (thread, sender) pairs of a batch are real memberships. Run under the thread locks,
-- so a member removed a moment ago cannot slip a message in. $1 thread ids, $2 user ids.
SELECT thread_id AS "threadId", user_id AS "userId"
FROM thread_members
WHERE (thread_id, user_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))
