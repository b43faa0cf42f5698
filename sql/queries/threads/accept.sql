-- Accept a message request: the conversation joins the member's list.
-- $1 thread id, $2 user id. Returns no row when there was no request.
UPDATE thread_members SET status = 'active'
WHERE thread_id = $1 AND user_id = $2 AND status = 'request'
RETURNING user_id AS "userId"
