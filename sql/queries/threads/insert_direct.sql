-- Start the 1:1 thread of a pair with both as members, in one statement. The other side
-- joins as a 'request' when the two have never shared a conversation
-- that both accepted (a request nobody accepted is not "having talked").
-- $1 direct key, $2 creator's id, $3 the other person's id.
-- Returns no row when the pair already has a thread (created concurrently): look it up instead.
WITH thread AS (
  INSERT INTO threads (kind, direct_key, created_by)
  VALUES ('direct', $1, $2)
  ON CONFLICT (direct_key) DO NOTHING
  RETURNING id
), strangers AS (
  SELECT NOT EXISTS (
    SELECT 1 FROM thread_members a JOIN thread_members b ON b.thread_id = a.thread_id
     WHERE a.user_id = $2 AND b.user_id = $3 AND a.status = 'active' AND b.status = 'active'
  ) AS yes
), members AS (
  INSERT INTO thread_members (thread_id, user_id, status)
  SELECT thread.id, $2, 'active' FROM thread
  UNION ALL
  SELECT thread.id, $3, CASE WHEN strangers.yes THEN 'request' ELSE 'active' END FROM thread, strangers
)
SELECT id FROM thread
