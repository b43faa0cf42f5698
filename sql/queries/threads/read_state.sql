-- What a moved read marker tells the reader's other tabs (and, in a 1:1, the other side):
-- the thread's head, what is still unread, and whether both share read receipts.
-- $1 thread id, $2 the reader.
SELECT t.id, t.kind, t.title, t.last_seq AS "lastSeq", t.last_message_at AS "lastMessageAt",
       me.read_seq AS "readSeq",
       (SELECT count(*) FROM messages m
         WHERE m.thread_id = t.id AND m.seq > me.read_seq AND m.sender_id <> me.user_id AND m.kind = 'text'
           AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = me.user_id AND b.blocked_id = m.sender_id)) AS unread,
       (t.kind = 'direct' AND me.status = 'active' AND EXISTS (
          SELECT 1 FROM thread_members other JOIN users ou ON ou.id = other.user_id JOIN users mu ON mu.id = me.user_id
           WHERE other.thread_id = t.id AND other.user_id <> me.user_id AND other.status = 'active'
             AND ou.read_receipts AND mu.read_receipts)) AS "receipts"
FROM threads t
JOIN thread_members me ON me.thread_id = t.id AND me.user_id = $2
WHERE t.id = $1
