-- Writing in a conversation is reading it: each sender's read marker moves up to their own
-- message. $1 thread ids, $2 sender ids, $3 seqs (one entry per message).
UPDATE thread_members tm
SET read_seq = v.seq, read_at = now()
FROM (SELECT thread_id, user_id, max(seq) AS seq
        FROM unnest($1::bigint[], $2::bigint[], $3::int[]) AS x (thread_id, user_id, seq)
       GROUP BY thread_id, user_id) AS v
WHERE tm.thread_id = v.thread_id AND tm.user_id = v.user_id AND tm.read_seq < v.seq
