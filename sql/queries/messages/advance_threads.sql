-- Record the new last seq and activity time of the threads a batch wrote to.
-- $1 thread ids, $2 their new last seq.
UPDATE threads t
SET last_seq = v.last_seq, last_message_at = now()
FROM unnest($1::bigint[], $2::int[]) AS v (id, last_seq)
WHERE t.id = v.id
