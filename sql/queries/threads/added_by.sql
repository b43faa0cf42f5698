-- Who put a member into a group: the actor of the last line that added them, or created the
-- group. $1 thread id, $2 the member.
SELECT sender_id AS "userId"
FROM messages
WHERE thread_id = $1 AND kind = 'system'
  AND (event ->> 'type' = 'created' OR (event ->> 'type' = 'member_added' AND (event -> 'member' ->> 'id')::bigint = $2))
ORDER BY seq DESC
LIMIT 1
