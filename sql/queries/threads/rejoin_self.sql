-- Writing again to someone whose 1:1 you had declined (and so left): you are back in it.
-- $1 thread id, $2 user id.
INSERT INTO thread_members (thread_id, user_id, status) VALUES ($1, $2, 'active')
ON CONFLICT DO NOTHING
