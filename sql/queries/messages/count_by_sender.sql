-- How many messages each person sent in a range of a thread's log: rebuilds the counters
-- cache for the part it has not counted. System lines are not messages anyone sent.
-- $1 thread id, $2 counted up to, $3 count up to.
SELECT sender_id AS "senderId", count(*) AS n
FROM messages
WHERE thread_id = $1 AND seq > $2 AND seq <= $3 AND kind = 'text'
GROUP BY sender_id
