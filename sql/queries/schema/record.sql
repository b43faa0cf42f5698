-- $1 migration version, $2 its name.
INSERT INTO schema_migrations (version, name) VALUES ($1, $2)
