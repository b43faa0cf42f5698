-- Times come and go in UTC; postgres.js sets this per connection, PGlite needs it once.
SET TimeZone = 'UTC'
