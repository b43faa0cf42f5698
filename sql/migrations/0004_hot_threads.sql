-- A thread's row changes with every batch of messages (last_seq, last_message_at), and each
-- send locks it. Kept out of every index and given room on its page, that update is HOT
-- (heap-only): no new index entries, and no dead versions for the next lock to step over;
-- measured, not one of these updates was HOT before. The index on last_message_at served no
-- query: lists and the feed start from thread_members, by person.
DROP INDEX IF EXISTS threads_last_message_at_idx;
ALTER TABLE threads SET (fillfactor = 70);
