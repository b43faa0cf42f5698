// The database's own ceiling for what a message costs: the same single-row insert into
// messages, one autocommitted statement each, from as many connections as given, in a tight
// loop; and pgbench doing the same where it is installed. Then its floor for latency: how
// long a row waits to be committed at the relay's first rate, with nothing else running.
// Measured before Parley starts.
import { rmSync } from "node:fs";
import type { Db } from "../../src/db/client.ts";
import { threads as tq, users as uq } from "../../src/db/queries.ts";
import { latency, type Latency } from "../stats.ts";

export interface DbBaseline {
  connections: number;
  insertsPerSecond: number;
  pgbench: number | null;
  commitFloor: CommitFloor;
}

/**
 * Rows arriving at a steady rate, each committed by one connection the way Parley's writer
 * commits them: what arrived while a commit was out goes in the next one, one statement. A
 * row's latency runs from when it was due, not from when it was sent, so a commit that
 * stalls (a slow flush of the log to disk) counts against every row that waited behind it.
 * No message can be stored, acknowledged and delivered faster than this: where its p99 is
 * past 25 ms, so is the relay's at any rate.
 */
export interface CommitFloor {
  rate: number;
  latency: Latency;
  /** Share of the time spent inside commits that took longer than 25 ms. */
  stalledShare: number;
}

const INSERT = "INSERT INTO messages (thread_id, seq, sender_id, body) VALUES ($1, $2, $3, $4)";
const INSERT_MANY = "INSERT INTO messages (thread_id, seq, sender_id, body) SELECT $1, s, $2, $3 FROM unnest($4::int[]) AS s";
const FLOOR_RATE = 1000;

export async function dbBaseline(db: Db, connections: number, seconds: number, databaseUrl: string | null): Promise<DbBaseline> {
  const tag = Date.now().toString(36);
  const [user] = await uq.insert(db, `bench_base_${tag}`, "x");
  const threads: number[] = [];
  for (let i = 0; i < connections; i++) {
    const [t] = await tq.insertGroup(db, `baseline ${i}`, user!.id, []);
    threads.push(t!.id);
  }
  let count = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    threads.map(async (threadId) => {
      // Seqs start high: the thread's own counter is not touched, nothing else writes here.
      for (let seq = 1_000_000; performance.now() < until; seq++) {
        await db.query(INSERT, [threadId, seq, user!.id, "baseline message ".repeat(4)]);
        count++;
      }
    }),
  );
  const insertsPerSecond = Math.round(count / seconds);
  const pgbenchTps = databaseUrl ? await pgbench(databaseUrl, connections, seconds, threads[0]!, user!.id) : null;
  const commitFloor = await floor(db, threads[1] ?? threads[0]!, user!.id, seconds);
  return { connections, insertsPerSecond, pgbench: pgbenchTps, commitFloor };
}

async function floor(db: Db, threadId: number, userId: number, seconds: number): Promise<CommitFloor> {
  const waits: number[] = [];
  let stalled = 0;
  let seq = 2_000_000_000 - FLOOR_RATE * seconds; // far above the tight loop's seqs in this thread
  const start = performance.now();
  const end = start + seconds * 1000;
  let due = 0; // rows due so far, in arrival order
  for (;;) {
    const now = performance.now();
    if (now >= end) break;
    // Row k is due k / FLOOR_RATE seconds in: rows 0..arrived-1 are due by now.
    const arrived = Math.floor(((now - start) * FLOOR_RATE) / 1000) + 1;
    if (arrived <= due) {
      await Bun.sleep(1);
      continue;
    }
    const rows: number[] = [];
    for (let k = due; k < arrived; k++) rows.push(seq++);
    const sentAt = performance.now();
    await db.query(INSERT_MANY, [threadId, userId, "baseline message ".repeat(4), rows]);
    const done = performance.now();
    if (done - sentAt > 25) stalled += done - sentAt;
    for (let k = due; k < arrived; k++) waits.push(done - (start + (k * 1000) / FLOOR_RATE));
    due = arrived;
  }
  return { rate: FLOOR_RATE, latency: latency(waits), stalledShare: stalled / (performance.now() - start) };
}

async function pgbench(databaseUrl: string, connections: number, seconds: number, threadId: number, userId: number): Promise<number | null> {
  const binary = ["/usr/bin/pgbench", "/usr/lib/postgresql/15/bin/pgbench"].find((p) => Bun.file(p).size > 0);
  if (!binary) return null;
  const script = `/tmp/parley-pgbench-${process.pid}.sql`;
  // Seqs drawn at random far above anything the loop above used (a clash in a few seconds of
  // inserts is unlikely, and would only end one client's run early).
  await Bun.write(
    script,
    `\\set r random(100000000, 2000000000)\nINSERT INTO messages (thread_id, seq, sender_id, body) VALUES (${threadId}, :r, ${userId}, 'baseline message baseline message');\n`,
  );
  const run = Bun.spawnSync([binary, "-n", "-c", String(connections), "-j", "2", "-T", String(seconds), "-f", script, databaseUrl], { stdout: "pipe", stderr: "pipe" });
  rmSync(script, { force: true });
  const out = run.stdout.toString();
  const tps = /tps = ([\d.]+)/.exec(out)?.[1];
  return tps ? Math.round(Number(tps)) : null;
}
