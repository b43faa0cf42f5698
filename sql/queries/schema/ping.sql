-- Health checks: the database answers.
SELECT 1 AS ok
