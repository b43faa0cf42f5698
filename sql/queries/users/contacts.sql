-- Everyone who shares a conversation with a person, both having accepted it (a stranger's
-- request does not make them a contact), and not across a block in either direction: whose feeds hear when the person comes online or goes. $1 user id.
-- (presence_visible.sql asks the same of a few people at a time; test/contacts.test.ts holds them to one rule.)
SELECT DISTINCT other.user_id AS "userId"
FROM thread_members me
JOIN thread_members other ON other.thread_id = me.thread_id AND other.user_id <> me.user_id
WHERE me.user_id = $1 AND me.status = 'active' AND other.status = 'active'
  AND NOT EXISTS (SELECT 1 FROM blocks b
                   WHERE (b.blocker_id = me.user_id AND b.blocked_id = other.user_id)
                      OR (b.blocker_id = other.user_id AND b.blocked_id = me.user_id))
