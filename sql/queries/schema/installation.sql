-- The id of this database (see the installation table in 0001_core.sql).
SELECT id FROM installation
