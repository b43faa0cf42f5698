-- The embedded database's session settings, set once when it opens; postgres.js sets the same
-- on each connection it opens (src/db/client.ts says why).
SET TimeZone = 'UTC';
SET plan_cache_mode = force_generic_plan
