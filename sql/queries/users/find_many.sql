-- People by name, in any letter case. $1 usernames.
-- (= ANY of an array, not of a subquery: the unique index on lower(username) is used under any
-- cached plan, where a semi-join planned on a small table would scan every user.)
SELECT id, username FROM users WHERE lower(username) = ANY (ARRAY(SELECT lower(n) FROM unnest($1::text[]) AS n))
