-- $1 thread id, $2 the person added, $3 who added them. Someone who has never shared another
-- accepted conversation with the one adding them joins as a 'request'.
-- Returns no row when they are a member already.
INSERT INTO thread_members (thread_id, user_id, status)
SELECT $1, $2,
       CASE WHEN EXISTS (SELECT 1 FROM thread_members a JOIN thread_members b ON b.thread_id = a.thread_id
                          WHERE a.user_id = $3 AND b.user_id = $2 AND a.thread_id <> $1
                            AND a.status = 'active' AND b.status = 'active')
            THEN 'active' ELSE 'request' END
ON CONFLICT DO NOTHING
RETURNING user_id AS "userId"
