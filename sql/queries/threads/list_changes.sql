-- The conversations whose place in a person's list changed after a time without a message,
-- a read or a join (see migration 7): each with what a `removed` event carries, and whether
-- the person still sees it in their list (a member, and not a 1:1 whose other side they
-- block; the other side read from the 1:1's key, and the block probed by its key).
-- $1 user id, $2 the time.
SELECT t.id, t.kind, t.title, t.last_seq AS "lastSeq", t.last_message_at AS "lastMessageAt",
       (me.user_id IS NOT NULL
        AND NOT (t.kind = 'direct' AND EXISTS (
          SELECT 1 FROM blocks b
           WHERE b.blocker_id = $1
             AND b.blocked_id = CASE WHEN split_part(t.direct_key, ':', 1)::bigint = $1
                                     THEN split_part(t.direct_key, ':', 2)::bigint
                                     ELSE split_part(t.direct_key, ':', 1)::bigint END))) AS listed
FROM list_changes c
CROSS JOIN LATERAL (SELECT id, kind, title, last_seq, last_message_at, direct_key FROM threads WHERE id = c.thread_id LIMIT 1) t
LEFT JOIN LATERAL (SELECT user_id FROM thread_members WHERE thread_id = c.thread_id AND user_id = c.user_id LIMIT 1) me ON true
WHERE c.user_id = $1 AND c.at > $2
ORDER BY c.at
