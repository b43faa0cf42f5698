-- Where a thread's log ends now. $1 thread id. No row for a thread that does not exist.
SELECT last_seq AS "lastSeq" FROM threads WHERE id = $1
