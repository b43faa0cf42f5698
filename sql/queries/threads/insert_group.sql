-- Start a group with its creator and members, in one statement. $1 title (or null), $2 the
-- creator's id, $3 the other members' ids. Groups are never reused: each call makes a new one.
-- Someone who has never shared an accepted conversation with the creator joins as a 'request'.
WITH thread AS (
  INSERT INTO threads (kind, title, created_by)
  VALUES ('group', $1, $2)
  RETURNING id
), members AS (
  INSERT INTO thread_members (thread_id, user_id, status)
  SELECT thread.id, $2, 'active' FROM thread
  UNION ALL
  SELECT thread.id, member.id,
         CASE WHEN EXISTS (SELECT 1 FROM thread_members a JOIN thread_members b ON b.thread_id = a.thread_id
                            WHERE a.user_id = $2 AND b.user_id = member.id AND a.status = 'active' AND b.status = 'active')
              THEN 'active' ELSE 'request' END
  FROM thread, unnest($3::bigint[]) AS member (id)
)
SELECT id FROM thread
