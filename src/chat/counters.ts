// Per-thread message counters, kept as the original kept them: a Redis hash per thread with
// `total_messages` and a `from_<user id>` field per sender; received = total − sent.
// Made safe: the hash is a cache of PostgreSQL. It also records `seq`, the end of the prefix
// of the thread's log it has counted. A new message extends that prefix only when it is the
// very next seq; anything else (a flushed hash, a lost increment, commits finishing out of
// order) leaves a gap that the next read counts from PostgreSQL. So the numbers shown are
// right after a Redis restart, and a retried increment can never count a message twice.
// That is also why the Redis store may record late: a thread's new messages gather in the
// process for RECORD_DELAY_MS and go as runs of consecutive seqs, one script call for all;
// a read in between finds the prefix shorter and counts the rest from PostgreSQL.
import type Redis from "ioredis";
import type { Db } from "../db/client.ts";
import { messages } from "../db/queries.ts";
import type { RedisNames } from "../realtime/topics.ts";

/** Counters of threads nobody has looked at for this long are dropped; reads rebuild them. */
const COUNTERS_TTL_S = 30 * 24 * 3600;
/** The in-process store forgets the least recently written threads past this many. */
const MEMORY_MAX_THREADS = 100_000;
/**
 * How long committed messages wait to be counted in Redis. A script call for every group
 * commit cost more than the commit's other work at a few thousand messages a second on a
 * VM with slow system calls (bench/RESULTS.md, section 14); a tenth of that many calls
 * cost almost nothing, and the counts read in the meantime are right all the same.
 */
export const RECORD_DELAY_MS = 25;
/** Runs per script call: Redis runs nothing else while a script runs. */
const MAX_RUNS_PER_CALL = 1000;

export interface ThreadCounts {
  /** Counted up to and including this seq. */
  seq: number;
  total: number;
  bySender: Map<number, number>;
}

export interface CountedMessage {
  threadId: number;
  seq: number;
  senderId: number | null;
}

export interface CounterStore {
  /**
   * Counts new messages (given in commit order), each only if it directly follows what is
   * counted of its thread; otherwise that thread is left for the next read to reconcile. A
   * system line (senderId null) moves the counted prefix on without counting. May count them
   * after it returns (the Redis store waits RECORD_DELAY_MS): reads meanwhile reconcile.
   */
  record(messages: readonly CountedMessage[]): Promise<void>;
  read(threadIds: number[]): Promise<Map<number, ThreadCounts>>;
  /** Adds counts for (fromSeq, toSeq] if the stored prefix still ends at fromSeq. */
  advance(threadId: number, fromSeq: number, toSeq: number, bySender: Map<number, number>): Promise<void>;
  clear(threadId: number): Promise<void>;
  /** Writes what is waiting to be recorded (before a shutdown). */
  flush(): Promise<void>;
}

export interface Counts {
  total: number;
  sent: number;
  received: number;
}

/** Counters of several threads for one person, reconciled with each thread's last seq. */
export async function countsFor(
  db: Db,
  store: CounterStore,
  viewerId: number,
  threads: readonly { id: number; lastSeq: number }[],
): Promise<Map<number, Counts>> {
  let cached: Map<number, ThreadCounts>;
  try {
    cached = await store.read(threads.map((t) => t.id));
  } catch {
    cached = new Map(); // Redis away: count from the database, which is the truth anyway.
  }
  const out = new Map<number, Counts>();
  await Promise.all(
    threads.map(async (thread) => {
      let counts = cached.get(thread.id) ?? { seq: 0, total: 0, bySender: new Map<number, number>() };
      if (counts.seq > thread.lastSeq) {
        // Counted past what the caller saw (a message landed in between): start over.
        counts = { seq: 0, total: 0, bySender: new Map() };
      }
      if (counts.seq < thread.lastSeq) {
        const rows = await messages.countBySender(db, thread.id, counts.seq, thread.lastSeq);
        const delta = new Map(rows.map((r) => [r.senderId, r.n]));
        const bySender = new Map(counts.bySender);
        let total = counts.total;
        for (const [sender, n] of delta) {
          bySender.set(sender, (bySender.get(sender) ?? 0) + n);
          total += n;
        }
        store.advance(thread.id, counts.seq, thread.lastSeq, delta).catch(() => {});
        counts = { seq: thread.lastSeq, total, bySender };
      }
      const sent = counts.bySender.get(viewerId) ?? 0;
      out.set(thread.id, { total: counts.total, sent, received: counts.total - sent });
    }),
  );
  return out;
}

export function memoryCounterStore(): CounterStore {
  const threads = new Map<number, ThreadCounts>();
  const touch = (threadId: number, counts: ThreadCounts) => {
    threads.delete(threadId);
    threads.set(threadId, counts);
    if (threads.size > MEMORY_MAX_THREADS) threads.delete(threads.keys().next().value!);
  };
  return {
    record: async (messages) => {
      for (const { threadId, seq, senderId } of messages) {
        const counts = threads.get(threadId);
        if (!counts || counts.seq !== seq - 1) continue;
        counts.seq = seq;
        if (senderId !== null) {
          counts.total++;
          counts.bySender.set(senderId, (counts.bySender.get(senderId) ?? 0) + 1);
        }
        touch(threadId, counts);
      }
    },
    read: async (ids) => {
      const out = new Map<number, ThreadCounts>();
      for (const id of ids) {
        const counts = threads.get(id);
        if (counts) out.set(id, { seq: counts.seq, total: counts.total, bySender: new Map(counts.bySender) });
      }
      return out;
    },
    advance: async (threadId, fromSeq, toSeq, delta) => {
      const counts = threads.get(threadId) ?? { seq: 0, total: 0, bySender: new Map<number, number>() };
      if (counts.seq !== fromSeq) return;
      counts.seq = toSeq;
      for (const [sender, n] of delta) {
        counts.total += n;
        counts.bySender.set(sender, (counts.bySender.get(sender) ?? 0) + n);
      }
      touch(threadId, counts);
    },
    clear: async (threadId) => {
      threads.delete(threadId);
    },
    flush: async () => {},
  };
}

// Both scripts compare the counted prefix with the caller's expectation and change nothing
// when it differs; a missing hash counts as an empty prefix only for `advance`.
// RECORD takes runs of consecutive messages of a thread, many threads at once: KEYS[i] is
// run i's hash; ARGV[1] the TTL, then per run its first seq, how many messages, and each
// one's sender field ('' for a system line, which moves the prefix without counting). Of a
// run, the messages right after the counted prefix count: all of it, or its tail when a read
// has counted its start from the database meanwhile, or none if there is a gap before it.
const RECORD = `
local a = 2
for i = 1, #KEYS do
  local from = tonumber(ARGV[a])
  local n = tonumber(ARGV[a + 1])
  local counted = redis.call('HGET', KEYS[i], 'seq')
  local next = counted and tonumber(counted) + 1
  if next and next >= from and next < from + n then
    local bySender = {}
    local total = 0
    for k = next - from, n - 1 do
      local field = ARGV[a + 2 + k]
      if field ~= '' then
        bySender[field] = (bySender[field] or 0) + 1
        total = total + 1
      end
    end
    for field, count in pairs(bySender) do redis.call('HINCRBY', KEYS[i], field, count) end
    if total > 0 then redis.call('HINCRBY', KEYS[i], 'total_messages', total) end
    redis.call('HSET', KEYS[i], 'seq', from + n - 1)
    redis.call('EXPIRE', KEYS[i], ARGV[1])
  end
  a = a + 2 + n
end
return 0`;

const ADVANCE = `
local counted = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if counted ~= tonumber(ARGV[1]) then return 0 end
for i = 4, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], 'total_messages', tonumber(ARGV[i + 1]))
  redis.call('HINCRBY', KEYS[1], ARGV[i], tonumber(ARGV[i + 1]))
end
redis.call('HSET', KEYS[1], 'seq', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1`;

const senderField = (senderId: number) => `from_${senderId}`;

/** The two scripts as ioredis commands: defined once, then called by SHA (EVALSHA). */
interface CounterCommands {
  parleyCountRecord(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<unknown>;
  parleyCountAdvance(key: string, ...args: (string | number)[]): Promise<unknown>;
}

/** Consecutive messages of one thread waiting to be recorded: seqs from on, each one's sender field. */
interface Run {
  threadId: number;
  from: number;
  senders: string[];
}

export function redisCounterStore(redis: Redis, keys: RedisNames): CounterStore {
  redis.defineCommand("parleyCountRecord", { lua: RECORD });
  redis.defineCommand("parleyCountAdvance", { numberOfKeys: 1, lua: ADVANCE });
  const scripts = redis as unknown as CounterCommands;
  /** Waiting runs, in the order their first messages committed; the last run of each thread. */
  let runs: Run[] = [];
  let lastRun = new Map<number, Run>();
  let timer: ReturnType<typeof setTimeout> | null = null;

  const flush = async () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const batch = runs;
    runs = [];
    lastRun = new Map();
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < batch.length; i += MAX_RUNS_PER_CALL) {
      const part = batch.slice(i, i + MAX_RUNS_PER_CALL);
      const args: (string | number)[] = [COUNTERS_TTL_S];
      for (const run of part) args.push(run.from, run.senders.length, ...run.senders);
      calls.push(scripts.parleyCountRecord(part.length, ...part.map((run) => keys.counters(run.threadId)), ...args));
    }
    await Promise.all(calls);
  };

  return {
    record: async (messages) => {
      for (const { threadId, seq, senderId } of messages) {
        let run = lastRun.get(threadId);
        // Another instance's message in between (or commits out of order): a run of its own,
        // which counts only once what lies before it is counted.
        if (!run || run.from + run.senders.length !== seq) {
          run = { threadId, from: seq, senders: [] };
          runs.push(run);
          lastRun.set(threadId, run);
        }
        run.senders.push(senderId === null ? "" : senderField(senderId));
      }
      if (runs.length > 0 && !timer) {
        timer = setTimeout(() => void flush().catch(() => {}), RECORD_DELAY_MS);
        timer.unref();
      }
    },
    read: async (ids) => {
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(keys.counters(id));
      const results = (await pipeline.exec()) ?? [];
      const out = new Map<number, ThreadCounts>();
      ids.forEach((id, i) => {
        const [err, hash] = results[i] ?? [];
        const h = hash as Record<string, string> | undefined;
        if (err || !h || h.seq === undefined) return;
        const bySender = new Map<number, number>();
        for (const [field, value] of Object.entries(h)) {
          if (field.startsWith("from_")) bySender.set(Number(field.slice(5)), Number(value));
        }
        out.set(id, { seq: Number(h.seq), total: Number(h.total_messages ?? 0), bySender });
      });
      return out;
    },
    advance: async (threadId, fromSeq, toSeq, delta) => {
      const args: (string | number)[] = [fromSeq, toSeq, COUNTERS_TTL_S];
      for (const [sender, n] of delta) args.push(senderField(sender), n);
      await scripts.parleyCountAdvance(keys.counters(threadId), ...args);
    },
    clear: async (threadId) => {
      runs = runs.filter((run) => run.threadId !== threadId);
      lastRun.delete(threadId);
      await redis.del(keys.counters(threadId));
    },
    flush,
  };
}
