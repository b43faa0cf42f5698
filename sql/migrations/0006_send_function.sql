-- The send path's transaction as one statement: a call of parley_send, a function of two
-- statements, takes one round trip and comes back as one answer, where BEGIN, the lock,
-- the batch and COMMIT were four statements, four answers and as many wake-ups of the
-- server's event loop. Measured with bench/writer-cost.ts (two sets of three alternating
-- runs), Parley's CPU per message went from 450–591 to 315–400 µs one send a transaction and
-- from 31–34 to 22–26 µs 25 a transaction; PostgreSQL's did not move beyond the noise.
--
-- The two statements stay two: in READ COMMITTED each statement of a function takes its own
-- snapshot when it starts, so the batch, started after the locks, sees the threads, members
-- and blocks as they are under them (a member removed a moment ago cannot slip a message
-- in). Run alone, as its own transaction, it commits when it returns; the locks hold until
-- then, and an error (a retried clientId, a text the database refuses) takes all of it back.
--
-- Arguments, one entry per send: thread ids, sender ids, texts, client ids (null where none);
-- then whether to look for earlier clientIds: almost every send is new, so the writer first
-- goes without, and the unique index refuses a retried one (the writer then goes again).
-- One row per send, in batch order ("i" from 1). Each send's fate:
--   not_found      no such thread, or the sender is not in it
--   undeliverable  a 1:1 whose other side blocked the sender (they are not told why)
--   not_allowed    a 1:1 in which the sender blocked the other side
--   stored         its clientId was stored before (a retried send): the stored message
--   same           the same send twice in this batch: one row, both answered with it
--   insert         stored now, with the thread's next seq, in the order of the batch
-- Storing moves the thread's last seq and activity time, and the sender's read marker
-- (writing in a conversation is reading it); answering a message request accepts it; a 1:1
-- whose other side declined (and so left) gets them back as a new request. The thread's
-- kind, title and members (as they are after the batch) come on the first send of each
-- thread only.
CREATE FUNCTION parley_send(p_threads bigint[], p_senders bigint[], p_texts text[], p_clients text[], p_look_up boolean)
RETURNS TABLE (i integer, fate text, id bigint, seq integer, "createdAt" timestamptz, "storedText" text,
               "threadKind" text, "threadTitle" text, members bigint[])
LANGUAGE plpgsql VOLATILE AS $send$
#variable_conflict use_column
BEGIN
  -- Lock the threads being written to, in id order, so two instances' batches touching the
  -- same threads never deadlock; each found by a probe of its key, one after another.
  PERFORM 1
  FROM (SELECT DISTINCT u.id FROM unnest(p_threads) AS u (id) ORDER BY u.id) AS ids
  CROSS JOIN LATERAL (SELECT id FROM threads WHERE id = ids.id FOR UPDATE) AS t;

  RETURN QUERY
    WITH req AS (
      SELECT r.i::int AS i, r.thread_id, r.sender_id, r.body, r.client_id
      FROM unnest(p_threads, p_senders, p_texts, p_clients) WITH ORDINALITY AS r (thread_id, sender_id, body, client_id, i)
    ), ids AS (
      SELECT DISTINCT thread_id AS id FROM req
    ), thread AS (
      -- A probe of the key per thread, not "id = ANY (p_threads)": under a cached plan that is
      -- a scan of the whole table testing every row against every id of the batch once the
      -- table is a few hundred rows (OFFSET 0 keeps each subquery a probe of its own; see
      -- test/plans.test.ts).
      SELECT t.id, t.kind, t.title, t.last_seq,
             split_part(t.direct_key, ':', 1)::bigint AS low, split_part(t.direct_key, ':', 2)::bigint AS high
      FROM ids CROSS JOIN LATERAL (SELECT id, kind, title, last_seq, direct_key FROM threads WHERE id = ids.id OFFSET 0) t
    ), member AS (
      SELECT m.thread_id, m.user_id, m.status
      FROM ids CROSS JOIN LATERAL (SELECT thread_id, user_id, status FROM thread_members WHERE thread_id = ids.id OFFSET 0) m
    ), judged AS (
      SELECT q.*, t.last_seq,
             CASE
               WHEN t.id IS NULL OR me.user_id IS NULL THEN 'not_found'
               WHEN blocked_by.other IS NOT NULL THEN 'undeliverable'
               WHEN blocking.other IS NOT NULL THEN 'not_allowed'
               WHEN earlier.id IS NOT NULL THEN 'stored'
               WHEN q.client_id IS NOT NULL
                    AND q.i > min(q.i) OVER (PARTITION BY q.thread_id, q.sender_id, q.client_id) THEN 'same'
               ELSE 'insert'
             END AS fate,
             earlier.id AS earlier_id, earlier.seq AS earlier_seq, earlier.body AS earlier_body, earlier.created_at AS earlier_at
      FROM req q
      LEFT JOIN thread t ON t.id = q.thread_id
      LEFT JOIN member me ON me.thread_id = q.thread_id AND me.user_id = q.sender_id
      -- (Each LATERAL ... LIMIT 1 stays an index probe per send under any cached plan: a plan made
      -- while a table was small would otherwise hash the whole table on every call.)
      LEFT JOIN LATERAL (
        SELECT b.blocker_id AS other FROM blocks b
        WHERE t.kind = 'direct' AND b.blocker_id = (CASE WHEN t.low = q.sender_id THEN t.high ELSE t.low END) AND b.blocked_id = q.sender_id
        LIMIT 1
      ) blocked_by ON true
      LEFT JOIN LATERAL (
        SELECT b.blocked_id AS other FROM blocks b
        WHERE t.kind = 'direct' AND b.blocker_id = q.sender_id AND b.blocked_id = (CASE WHEN t.low = q.sender_id THEN t.high ELSE t.low END)
        LIMIT 1
      ) blocking ON true
      LEFT JOIN LATERAL (
        SELECT m.id, m.seq, m.body, m.created_at FROM messages m
        WHERE p_look_up AND m.thread_id = q.thread_id AND m.sender_id = q.sender_id AND m.client_id = q.client_id
        LIMIT 1
      ) earlier ON true
    ), numbered AS (
      SELECT j.*,
             CASE WHEN j.fate = 'insert'
                  THEN j.last_seq + row_number() OVER (PARTITION BY j.thread_id, j.fate ORDER BY j.i) END AS seq
      FROM judged j
    ), inserted AS (
      INSERT INTO messages (thread_id, seq, sender_id, body, client_id)
      SELECT thread_id, seq, sender_id, body, client_id FROM numbered WHERE fate = 'insert'
      RETURNING id, thread_id, seq, created_at
    ), advanced AS (
      UPDATE threads t
      SET last_seq = v.last_seq, last_message_at = now()
      FROM (SELECT thread_id, max(seq) AS last_seq FROM numbered WHERE fate = 'insert' GROUP BY thread_id) AS v
      WHERE t.id = v.thread_id
    ), own AS (
      -- The sender's read marker and, for a message request, its acceptance: one update per row.
      UPDATE thread_members tm
      SET read_seq = greatest(tm.read_seq, v.seq),
          read_at = CASE WHEN tm.read_seq < v.seq THEN now() ELSE tm.read_at END,
          status = 'active'
      FROM (SELECT thread_id, sender_id, max(seq) AS seq FROM numbered WHERE fate = 'insert' GROUP BY thread_id, sender_id) AS v
      WHERE tm.thread_id = v.thread_id AND tm.user_id = v.sender_id
        AND (tm.read_seq < v.seq OR tm.status = 'request')
    ), rejoined AS (
      INSERT INTO thread_members (thread_id, user_id, status)
      SELECT t.id, side.id, 'request'
      FROM thread t, LATERAL (VALUES (t.low), (t.high)) AS side (id)
      WHERE t.low IS NOT NULL
        AND t.id IN (SELECT thread_id FROM numbered WHERE fate = 'insert')
        AND NOT EXISTS (SELECT 1 FROM member m WHERE m.thread_id = t.id AND m.user_id = side.id)
      ON CONFLICT DO NOTHING
      RETURNING thread_id, user_id
    ), roster AS (
      SELECT x.thread_id, array_agg(x.user_id) AS members
      FROM (SELECT thread_id, user_id FROM member UNION ALL SELECT thread_id, user_id FROM rejoined) AS x
      GROUP BY x.thread_id
    )
    SELECT n.i, n.fate,
           coalesce(ins.id, n.earlier_id) AS id,
           coalesce(ins.seq, n.earlier_seq) AS seq,
           coalesce(ins.created_at, n.earlier_at) AS "createdAt",
           n.earlier_body AS "storedText",
           CASE WHEN n.first_of_thread THEN t.kind END AS "threadKind",
           CASE WHEN n.first_of_thread THEN t.title END AS "threadTitle",
           CASE WHEN n.first_of_thread THEN r.members END AS members
    FROM (SELECT n.*, n.i = min(n.i) OVER (PARTITION BY n.thread_id) AS first_of_thread FROM numbered n) n
    LEFT JOIN inserted ins ON ins.thread_id = n.thread_id AND ins.seq = n.seq
    LEFT JOIN thread t ON t.id = n.thread_id
    LEFT JOIN roster r ON r.thread_id = n.thread_id
    ORDER BY n.i;
END
$send$;
