-- Held until the migration's transaction ends: one instance migrates, the others wait.
-- $1 the lock key, the same constant in every instance.
SELECT pg_advisory_xact_lock($1)
