-- Lock one thread for a membership change or rename, and read what the change needs.
-- $1 thread id, $2 the person making the change, who must be a member (else no row).
SELECT t.id, t.kind, t.title, t.created_by AS "createdBy", t.last_seq AS "lastSeq"
FROM threads t
JOIN thread_members me ON me.thread_id = t.id AND me.user_id = $2
WHERE t.id = $1
FOR UPDATE OF t
