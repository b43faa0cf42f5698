-- $1 migration version. One row when it has been applied.
SELECT version FROM schema_migrations WHERE version = $1
