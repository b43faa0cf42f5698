// What one stored message costs the group-commit writer, in this process and in PostgreSQL,
// by batch size: no sockets, no Redis, only MessageWriter against a database of its own. Each
// wave of sends is issued at once and awaited, so a wave of N is (about) a transaction of N.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test bun bench/writer-cost.ts [--waves=1,5,25,100] [--messages=40000]
//
// PostgreSQL's CPU is read from /proc for every process named postgres, so the server must run
// on this machine (and nothing else should use it meanwhile). Figures move with the machine:
// compare two builds in the same session, alternating.
import postgres from "postgres";
import { connectPostgres } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { threads as tq, users as uq } from "../src/db/queries.ts";
import { MessageWriter } from "../src/chat/writer.ts";
import { note, progress } from "./progress.ts";
import { CommandCpu } from "./stats.ts";
import { BenchArgsError, parseWriterCostArgs, WRITER_COST_USAGE, type WriterCostArgs } from "./args.ts";

const PAIRS = 500;
const WARM = 5_000;

let args: WriterCostArgs;
try {
  args = parseWriterCostArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof BenchArgsError)) throw err;
  console.error(`writer-cost: ${err.message}\n${WRITER_COST_USAGE}`);
  process.exit(2);
}
const { waves, messages } = args;
const base = process.env.DATABASE_URL;
if (!base) {
  console.error(`writer-cost: set DATABASE_URL to a PostgreSQL server on this machine\n${WRITER_COST_USAGE}`);
  process.exit(2);
}

const name = `parley_writer_cost_${Date.now().toString(36)}`;
const admin = postgres(base, { max: 1, onnotice: () => {} });
await admin.unsafe(`CREATE DATABASE ${name}`);
const url = new URL(base);
url.pathname = `/${name}`;
const db = connectPostgres(url.toString());
try {
  await migrate(db);
  const seeding = progress("seeding 1:1 threads", PAIRS);
  const pairs: { threadId: number; sender: { id: number; username: string } }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const [a] = await uq.insert(db, `writer_a${i}`, "x");
    const [b] = await uq.insert(db, `writer_b${i}`, "x");
    const [t] = await tq.insertDirect(db, `${a!.id}:${b!.id}`, a!.id, b!.id);
    await tq.accept(db, t!.id, b!.id);
    pairs.push({ threadId: t!.id, sender: { id: a!.id, username: a!.username } });
    if (i % 50 === 49) seeding(i + 1);
  }

  const writer = new MessageWriter(db, () => {});
  let sent = 0;
  const run = async (count: number, wave: number, step?: (done: number) => void) => {
    for (let done = 0; done < count; done += wave) {
      await Promise.all(
        Array.from({ length: wave }, () => {
          const pair = pairs[sent % PAIRS]!;
          sent++;
          return writer.write({ threadId: pair.threadId, sender: pair.sender, text: `writer cost ${sent} ${"x".repeat(64)}`, clientId: `w${sent}` });
        }),
      );
      if (step && done % (wave * 100) === 0) step(done);
    }
    step?.(count);
  };

  const rows: string[][] = [];
  for (const wave of waves) {
    const count = Math.max(wave * 200, Math.round(messages / Math.max(1, 25 / wave)));
    await run(Math.min(WARM, count), wave);
    const cpu0 = process.cpuUsage();
    const pg = new CommandCpu("postgres");
    const t0 = performance.now();
    await run(count, wave, progress(`waves of ${wave}`, count));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const pgMs = pg.seconds() * 1000;
    rows.push([String(wave), String(count), String(Math.round(count / seconds)), ((cpu.user + cpu.system) / count).toFixed(1), ((pgMs * 1000) / count).toFixed(1)]);
  }
  note("");
  const head = ["wave", "messages", "messages/s", "Parley µs CPU/message", "PostgreSQL µs CPU/message"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [head, ...rows]) console.log(row.map((c, i) => c.padStart(widths[i]!)).join("  "));
} finally {
  await db.close();
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
