-- The 1:1 thread of two people, if any, with whether the first is (still) in it.
-- $1 direct key "<lower id>:<higher id>", $2 the person asking.
SELECT t.id, EXISTS (SELECT 1 FROM thread_members m WHERE m.thread_id = t.id AND m.user_id = $2) AS member
FROM threads t WHERE t.direct_key = $1
