-- A person's conversations, most recent activity first, each with what the list shows;
-- or just one of them. Authorization is part of the lookup: a thread the person is not in
-- looks exactly like one that does not exist.
-- $1 member's user id, $2 one thread's id or null for all, $3 how many, $4 how many to skip,
-- $5 only those changed for this member after this time (new message, read marker, joined),
-- or null for all, $6 only those where the member's status is this ('active' for the list,
-- 'request' for message requests), or null for any.
-- A 1:1 with someone the member blocked is left out of lists (it is still found by id).
-- unread counts only what others sent after the member's read marker, not system lines,
-- and not what people the member blocked sent.
-- Threads and people are read by key (LATERAL ... LIMIT 1, which the planner does not turn
-- into a join): a hash join planned while the tables were small would scan them whole.
SELECT t.id, t.kind, t.title, t.created_by AS "createdBy",
       t.last_seq AS "lastSeq",
       t.last_message_at AS "lastMessageAt",
       me.read_seq AS "readSeq",
       me.read_at AS "readAt",
       me.joined_at AS "joinedAt",
       me.status,
       (SELECT count(*) FROM messages m
         WHERE m.thread_id = t.id AND m.seq > me.read_seq AND m.sender_id <> me.user_id AND m.kind = 'text'
           AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = me.user_id AND b.blocked_id = m.sender_id)) AS unread,
       (SELECT json_agg(json_build_object('id', u.id, 'username', u.username) ORDER BY u.id)
          FROM thread_members p
          CROSS JOIN LATERAL (SELECT u.id, u.username FROM users u WHERE u.id = p.user_id LIMIT 1) u
         WHERE p.thread_id = t.id) AS participants,
       left(last.body, 200) AS "lastText",
       last.sender_id AS "lastSenderId",
       last.kind AS "lastKind",
       last.event AS "lastEvent"
FROM thread_members me
CROSS JOIN LATERAL (SELECT * FROM threads t WHERE t.id = me.thread_id LIMIT 1) t
-- The last message the member may see: not one from someone they blocked.
LEFT JOIN LATERAL (
  SELECT m.body, m.sender_id, m.kind, m.event
  FROM messages m
  WHERE m.thread_id = t.id
    AND (m.kind = 'system' OR NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = me.user_id AND b.blocked_id = m.sender_id))
  ORDER BY m.seq DESC
  LIMIT 1
) last ON true
WHERE me.user_id = $1
  AND ($2::bigint IS NULL OR me.thread_id = $2)
  AND ($5::timestamptz IS NULL OR GREATEST(t.last_message_at, me.read_at, me.joined_at) > $5)
  AND ($6::text IS NULL OR me.status = $6)
  AND ($2::bigint IS NOT NULL OR t.kind <> 'direct' OR NOT EXISTS (
        SELECT 1 FROM thread_members other JOIN blocks b ON b.blocked_id = other.user_id
         WHERE other.thread_id = t.id AND other.user_id <> me.user_id AND b.blocker_id = me.user_id))
ORDER BY t.last_message_at DESC NULLS LAST, t.id DESC
LIMIT $3 OFFSET $4
