-- Who of these people show their presence. $1 user ids.
SELECT id FROM users WHERE id = ANY ($1::bigint[]) AND show_presence
