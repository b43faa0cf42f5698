-- When a group's creator leaves, the member who has been in it longest takes over renaming
-- and removing. $1 thread id, $2 the creator who left.
UPDATE threads
SET created_by = (SELECT user_id FROM thread_members WHERE thread_id = $1 ORDER BY joined_at, user_id LIMIT 1)
WHERE id = $1 AND created_by = $2
