-- The contacts of several people at once: everyone who shares a conversation with them, both
-- having accepted it (a stranger's request does not make them a contact), and not across a
-- block in either direction: whose feeds hear when a person comes online or goes.
-- $1 user ids; $2 only those of people who show their presence (false: everyone's).
-- One row per person and contact. Each person's are found from their own memberships, a probe
-- by key (OFFSET 0 keeps it one under any cached plan; see test/plans.test.ts), so a hundred
-- people going offline at once is one statement, not two hundred.
-- (presence_visible.sql asks the same of a few people at a time; test/contacts.test.ts holds them to one rule.)
SELECT p.id AS "of", c.user_id AS "userId"
FROM (SELECT DISTINCT id FROM unnest($1::bigint[]) AS u (id)) AS ids
CROSS JOIN LATERAL (SELECT id FROM users WHERE id = ids.id AND (show_presence OR NOT $2::boolean) OFFSET 0) AS p
CROSS JOIN LATERAL (
  SELECT DISTINCT other.user_id
  FROM thread_members me
  JOIN thread_members other ON other.thread_id = me.thread_id AND other.user_id <> me.user_id
  WHERE me.user_id = p.id AND me.status = 'active' AND other.status = 'active'
    AND NOT EXISTS (SELECT 1 FROM blocks b
                     WHERE (b.blocker_id = me.user_id AND b.blocked_id = other.user_id)
                        OR (b.blocker_id = other.user_id AND b.blocked_id = me.user_id))
  OFFSET 0
) AS c
