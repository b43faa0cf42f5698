-- People by name, in any letter case. $1 usernames.
SELECT id, username FROM users WHERE lower(username) = ANY (SELECT lower(n) FROM unnest($1::text[]) AS n)
