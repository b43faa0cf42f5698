-- $1 thread id, $2 new title.
UPDATE threads SET title = $2 WHERE id = $1
