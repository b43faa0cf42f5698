-- Start the 1:1 thread of a pair with both as members, in one statement.
-- $1 direct key, $2 creator's id, $3 both member ids.
-- Returns no row when the pair already has a thread (created concurrently): look it up instead.
WITH thread AS (
  INSERT INTO threads (kind, direct_key, created_by)
  VALUES ('direct', $1, $2)
  ON CONFLICT (direct_key) DO NOTHING
  RETURNING id
), members AS (
  INSERT INTO thread_members (thread_id, user_id)
  SELECT thread.id, member.id FROM thread, unnest($3::bigint[]) AS member (id)
)
SELECT id FROM thread
