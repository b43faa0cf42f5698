// The database's own ceiling for what a message costs: the same single-row insert into
// messages, one autocommitted statement each, from as many connections as given, in a tight
// loop; and pgbench doing the same where it is installed. Measured before Parley starts.
import { rmSync } from "node:fs";
import type { Db } from "../../src/db/client.ts";
import { threads as tq, users as uq } from "../../src/db/queries.ts";

export interface DbBaseline {
  connections: number;
  insertsPerSecond: number;
  pgbench: number | null;
}

const INSERT = "INSERT INTO messages (thread_id, seq, sender_id, body) VALUES ($1, $2, $3, $4)";

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
  return { connections, insertsPerSecond: Math.round(count / seconds), pgbench: databaseUrl ? await pgbench(databaseUrl, connections, seconds, threads[0]!, user!.id) : null };
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
