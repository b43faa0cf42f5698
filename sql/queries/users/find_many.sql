-- People by name, in any letter case. $1 usernames.
-- (A probe of the unique index on lower(username) per name, under any cached plan: "= ANY" of
-- an array is a scan of every user, tested against every name, once the table is a few
-- hundred rows and the plan was made without statistics; see test/plans.test.ts.)
SELECT u.id, u.username
FROM (SELECT DISTINCT lower(n) AS name FROM unnest($1::text[]) AS n) AS wanted
CROSS JOIN LATERAL (SELECT id, username FROM users WHERE lower(username) = wanted.name OFFSET 0) AS u
