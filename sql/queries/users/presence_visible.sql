-- Who of these people a person may see online: their contacts (as in contacts.sql: sharing a
-- conversation both have accepted, no block either way) who show their presence.
-- $1 the person looking, $2 the people looked at.
-- Each one is checked by key and the first shared conversation settles it, so a page that
-- shows one partner's presence does not list every contact of the person looking.
SELECT u.id
FROM (SELECT DISTINCT id FROM unnest($2::bigint[]) AS id) AS wanted
CROSS JOIN LATERAL (SELECT id FROM users WHERE id = wanted.id AND show_presence OFFSET 0) AS u
WHERE u.id <> $1
  AND EXISTS (SELECT 1
                FROM thread_members other
                JOIN thread_members me ON me.thread_id = other.thread_id AND me.user_id = $1
               WHERE other.user_id = u.id AND other.status = 'active' AND me.status = 'active')
  AND NOT EXISTS (SELECT 1 FROM blocks b
                   WHERE (b.blocker_id = $1 AND b.blocked_id = u.id)
                      OR (b.blocker_id = u.id AND b.blocked_id = $1))
