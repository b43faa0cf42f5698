-- Who of these people show their presence. $1 user ids.
-- (A probe of the key per person; see find_many.sql.)
SELECT u.id
FROM (SELECT DISTINCT id FROM unnest($1::bigint[]) AS id) AS wanted
CROSS JOIN LATERAL (SELECT id FROM users WHERE id = wanted.id AND show_presence OFFSET 0) AS u
