// The per-thread counters' Redis store against a real Redis: committed messages are recorded a
// moment later, many threads in one call, and a run of messages counts only where it extends
// what is counted, so a late or out-of-order record never counts a message twice or skips one.
import { describe, expect, test } from "bun:test";
import { RECORD_DELAY_MS, redisCounterStore, type CounterStore, type ThreadCounts } from "../src/chat/counters.ts";
import { withRedis } from "./helpers/server.ts";
import { redisTestInstallation } from "./helpers/redis.ts";

const { names, connect } = redisTestInstallation("countertest");

/** An instance's store, on a connection of its own. */
function instance(): CounterStore {
  return redisCounterStore(connect(), names);
}

const plain = (counts: ThreadCounts | undefined) =>
  counts && { seq: counts.seq, total: counts.total, bySender: Object.fromEntries([...counts.bySender].sort(([a], [b]) => a - b)) };


describe.skipIf(!withRedis)("counters in Redis", () => {
  test("new messages are counted a moment after they commit, every thread's in one go", async () => {
    const store = instance();
    // Threads 1 and 2 were read once (counted up to seq 0 and 4).
    await store.advance(1, 0, 0, new Map());
    await store.advance(2, 0, 4, new Map([[7, 3], [8, 1]]));
    await store.record([
      { threadId: 1, seq: 1, senderId: 7 },
      { threadId: 2, seq: 5, senderId: 8 },
      { threadId: 1, seq: 2, senderId: 8 },
      { threadId: 2, seq: 6, senderId: null }, // a system line: moves the prefix, counts nothing
      { threadId: 1, seq: 3, senderId: 7 },
    ]);
    // Not yet in Redis: a read now sees the old prefix (and would count the rest from PostgreSQL).
    expect(plain((await store.read([1])).get(1))).toEqual({ seq: 0, total: 0, bySender: {} });
    await Bun.sleep(RECORD_DELAY_MS + 50);
    const counts = await store.read([1, 2]);
    expect(plain(counts.get(1))).toEqual({ seq: 3, total: 3, bySender: { 7: 2, 8: 1 } });
    expect(plain(counts.get(2))).toEqual({ seq: 6, total: 5, bySender: { 7: 3, 8: 2 } });
  });

  test("a run that does not start right after the counted prefix changes nothing", async () => {
    const store = instance();
    await store.advance(10, 0, 5, new Map([[7, 5]]));
    await store.record([{ threadId: 10, seq: 7, senderId: 7 }]); // seq 6 is missing
    await store.flush();
    expect(plain((await store.read([10])).get(10))).toEqual({ seq: 5, total: 5, bySender: { 7: 5 } });
    await store.record([{ threadId: 10, seq: 6, senderId: 8 }]);
    await store.flush();
    expect(plain((await store.read([10])).get(10))).toEqual({ seq: 6, total: 6, bySender: { 7: 5, 8: 1 } });
    // A thread nobody has read is not started from a partial count.
    await store.record([{ threadId: 11, seq: 1, senderId: 7 }]);
    await store.flush();
    expect((await store.read([11])).has(11)).toBe(false);
  });

  test("a read that counted the start of a waiting run from the database: the rest of the run still counts", async () => {
    const store = instance();
    await store.advance(15, 0, 0, new Map());
    await store.record([
      { threadId: 15, seq: 1, senderId: 7 },
      { threadId: 15, seq: 2, senderId: 8 },
      { threadId: 15, seq: 3, senderId: 7 },
      { threadId: 15, seq: 4, senderId: null },
      { threadId: 15, seq: 5, senderId: 8 },
    ]);
    // A read saw seq 3 committed and counted 1–3 from PostgreSQL before the run went out.
    await store.advance(15, 0, 3, new Map([[7, 2], [8, 1]]));
    await store.flush();
    expect(plain((await store.read([15])).get(15))).toEqual({ seq: 5, total: 4, bySender: { 7: 2, 8: 2 } });
    // And the next run follows on.
    await store.record([{ threadId: 15, seq: 6, senderId: 7 }]);
    await store.flush();
    expect(plain((await store.read([15])).get(15))).toEqual({ seq: 6, total: 5, bySender: { 7: 3, 8: 2 } });
  });

  test("two instances writing to one thread: each counts only what follows the prefix, never past a gap", async () => {
    const a = instance();
    const b = instance();
    await a.advance(20, 0, 0, new Map());
    // Seqs 1, 2 and 4 committed on a, 3 on b; b records first.
    await a.record([{ threadId: 20, seq: 1, senderId: 7 }, { threadId: 20, seq: 2, senderId: 7 }]);
    await b.record([{ threadId: 20, seq: 3, senderId: 8 }]);
    await a.record([{ threadId: 20, seq: 4, senderId: 7 }]);
    await b.flush();
    await a.flush();
    // 1–2 counted; 3 came too early and 4 has a gap before it: a read counts them from the log.
    expect(plain((await a.read([20])).get(20))).toEqual({ seq: 2, total: 2, bySender: { 7: 2 } });
    // In the other order all four count.
    await a.advance(21, 0, 0, new Map());
    await a.record([{ threadId: 21, seq: 1, senderId: 7 }, { threadId: 21, seq: 2, senderId: 7 }]);
    await b.record([{ threadId: 21, seq: 3, senderId: 8 }]);
    await a.record([{ threadId: 21, seq: 4, senderId: 7 }]);
    await a.flush(); // 1–2, then 4 (not yet: 3 is missing)
    await b.flush(); // 3
    expect(plain((await a.read([21])).get(21))).toEqual({ seq: 3, total: 3, bySender: { 7: 2, 8: 1 } });
  });

  test("clearing a thread drops what waits to be recorded for it", async () => {
    const store = instance();
    await store.advance(30, 0, 0, new Map());
    await store.record([{ threadId: 30, seq: 1, senderId: 7 }]);
    await store.clear(30);
    await store.advance(30, 0, 0, new Map());
    await store.flush();
    expect(plain((await store.read([30])).get(30))).toEqual({ seq: 0, total: 0, bySender: {} });
  });
});
