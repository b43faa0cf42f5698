-- The conversations whose place in a person's list changed after a time without a message,
-- a read or a join (see migration 7): each with what a `removed` event carries, and whether
-- the person still sees it in their list (a member, and not a 1:1 whose other side they
-- block). $1 user id, $2 the time.
SELECT t.id, t.kind, t.title, t.last_seq AS "lastSeq", t.last_message_at AS "lastMessageAt",
       (me.user_id IS NOT NULL
        AND NOT (t.kind = 'direct' AND EXISTS (
          SELECT 1 FROM thread_members other JOIN blocks b ON b.blocked_id = other.user_id
           WHERE other.thread_id = t.id AND other.user_id <> $1 AND b.blocker_id = $1))) AS listed
FROM list_changes c
CROSS JOIN LATERAL (SELECT id, kind, title, last_seq, last_message_at FROM threads WHERE id = c.thread_id LIMIT 1) t
LEFT JOIN LATERAL (SELECT user_id FROM thread_members WHERE thread_id = c.thread_id AND user_id = c.user_id LIMIT 1) me ON true
WHERE c.user_id = $1 AND c.at > $2
ORDER BY c.at
