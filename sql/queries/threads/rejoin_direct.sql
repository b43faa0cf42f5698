-- A 1:1 whose other side declined the request (and so left it) gets them back as a new
-- request when written to again. $1 thread id. Returns who was added back.
INSERT INTO thread_members (thread_id, user_id, status)
SELECT t.id, member.id, 'request'
FROM threads t, unnest(string_to_array(t.direct_key, ':')::bigint[]) AS member (id)
WHERE t.id = $1 AND t.kind = 'direct'
ON CONFLICT DO NOTHING
RETURNING user_id AS "userId"
