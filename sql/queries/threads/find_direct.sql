-- The 1:1 thread of a pair, if they have one. $1 direct key "<lower id>:<higher id>".
SELECT id FROM threads WHERE direct_key = $1
