-- A batch of sends, decided and stored in one statement that is its own transaction: the
-- thread locks, then the batch, in the function parley_send (sql/migrations/0006_send_function.sql,
-- where its arguments, fates and rows are described).
-- $1 thread ids, $2 sender ids, $3 texts, $4 client ids, one entry per send; $5 look up earlier clientIds.
SELECT * FROM parley_send($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::boolean)
