-- Housekeeping, run now and then; an expired session is refused on read anyway.
DELETE FROM sessions WHERE expires_at < now()
