// `bun run bench`: Parley against the machine's own limits, every figure beside a baseline
// measured in the same run. Starts what it needs: a fresh database (DATABASE_URL's server, or
// an embedded one), Parley on a port (two, for the cross-instance scenario, when Redis is
// configured), a bare Bun server for the baselines. Seeds its own people and conversations.
// Ends with a table, a JSON file and an SVG chart under bench/results/.
//
//   bun run bench             the full run (several minutes)
//   bun run bench --quick     about a minute: smaller, shorter steps (CI runs this as a smoke check)
//   bun run bench --big       scenario 3 with 50,000 sockets over several instances and client processes
//   --only=relay,cross,fanout,connections,pages   --profile (CPU profiles of the server)
//   --rates=1000,5000 (the relay's offered rates)   --limits=off (rate limits unchecked; they are on, scaled x1000, by default)
//   --pairs=N (relay pairs)   --connections=N (scenario 3's sockets); anything else stops it (bench/args.ts)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { loadConfig, type Config } from "../src/config.ts";
import { migrate } from "../src/db/migrate.ts";
import { seed, openDb, type Seeded } from "./seed.ts";
import { freePort, startBare, startParley, type Proc } from "./processes.ts";
import { relay, type RelayStep } from "./load/relay.ts";
import { DiskProbe } from "./load/disk.ts";
import { fanout, type FanoutResult } from "./load/fanout.ts";
import { connections, type ConnectionPlanItem, type ConnectionsResult } from "./load/connections.ts";
import { pages, type PagesResult } from "./load/pages.ts";
import { dbBaseline, type DbBaseline } from "./load/db-baseline.ts";
import { latencyChart } from "./chart.ts";
import { note } from "./progress.ts";
import { round } from "./stats.ts";
import { BenchArgsError, parseBenchArgs, USAGE, type BenchArgs, type Scenario } from "./args.ts";
import { dropRedisKeys } from "./redis-keys.ts";

let args: BenchArgs;
try {
  args = parseBenchArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof BenchArgsError)) throw err;
  console.error(`bench: ${err.message}\n${USAGE}`);
  process.exit(2);
}
const { quick, big, profile, limitsOff } = args;
const wants = (name: Scenario) => !args.only || args.only.includes(name);

const SIZE = {
  pairs: args.pairs ?? (quick ? 100 : 500),
  // A step every 1,000/s up to 15,000: on a slow machine the database's ceiling is a few
  // thousand a second, and a ladder that jumped from 2,500 to 5,000 could not tell 0.8 of it.
  rates: args.rates ??
    (quick ? [1000, 2500, 5000, 10_000] : [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000, 11_000, 12_000, 13_000, 14_000, 15_000, 17_500, 20_000, 25_000, 30_000, 40_000, 50_000]),
  stepMs: quick ? 3000 : 8000,
  warmupMs: quick ? 1000 : 2000,
  fanoutSockets: quick ? 200 : 1000,
  /** Messages sent flat out for the deliveries-per-second figure: enough that one commit's latency is noise. */
  fanoutBurst: quick ? 500 : 1000,
  connections: args.connections ?? (big ? 50_000 : quick ? 1000 : 10_000),
  pageSeconds: quick ? 3 : 10,
  pageWarmupSeconds: quick ? 1 : 2,
  /** Per person, below the per-person connection limit. */
  socketsPerPerson: 10,
};
const REDIS_HOP = !!process.env.REDIS_URL && !!process.env.DATABASE_URL;

const results: Record<string, unknown> = {};
const started = new Date();
const cleanups: (() => Promise<unknown>)[] = [];

async function freshConfig(): Promise<Config> {
  const base = loadConfig();
  if (!base.databaseUrl) {
    const dir = mkdtempSync(join(tmpdir(), "parley-bench-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    return loadConfig({ ...process.env, DATA_DIR: dir });
  }
  // A database of its own, dropped at the end: a benchmark never touches real data.
  const name = `parley_bench_${started.getTime().toString(36)}`;
  const admin = postgres(base.databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base.databaseUrl);
  url.pathname = `/${name}`;
  cleanups.push(async () => {
    if (base.redisUrl) await dropRedisKeys(base.redisUrl, url.toString()).catch(() => {});
    const a = postgres(base.databaseUrl!, { max: 1, onnotice: () => {} });
    await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await a.end();
  });
  return loadConfig({ ...process.env, DATABASE_URL: url.toString() });
}

/**
 * Rate limits stay on, every check made as in production (in Redis, the checks of one turn of
 * the event loop in one script call), but scaled up: one client here plays a thousand people
 * from one address.
 */
function parleyEnv(config: Config): Record<string, string> {
  const base = { RATE_LIMIT_SCALE: limitsOff ? "0" : "1000" };
  return config.databaseUrl
    ? { ...base, DATABASE_URL: config.databaseUrl, REDIS_URL: config.redisUrl ?? "" }
    : { ...base, DATABASE_URL: "", REDIS_URL: "", DATA_DIR: config.dataDir };
}

async function main() {
  const config = await freshConfig();
  const mode = config.databaseUrl ? `PostgreSQL${config.redisUrl ? " + Redis" : ""}` : "embedded (PGlite, no Redis)";
  note(`Parley benchmark: ${quick ? "quick" : big ? "big" : "full"} run, ${mode}, ${cpus().length} cores`);
  results.meta = {
    date: started.toISOString(),
    commit: Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"]).stdout.toString().trim(),
    mode,
    cores: cpus().length,
    memoryGiB: round(totalmem() / 2 ** 30),
    quick,
    size: SIZE,
  };

  // The database's own ceiling, before anything else uses it.
  note("baseline: the database's single-insert ceiling");
  const db = await openDb(config);
  await migrate(db);
  const dbBase: DbBaseline = await dbBaseline(db, 8, quick ? 2 : 5, config.databaseUrl);
  const databaseDir = await dataDirectory(db, config);
  await db.close();
  results.dbBaseline = dbBase;
  note(`  ${dbBase.insertsPerSecond} single-row inserts/s at ${dbBase.connections} connections${dbBase.pgbench ? `, pgbench ${dbBase.pgbench} tps` : ""}`);
  const commitFloor = dbBase.commitFloor;
  note(
    `  rows due ${commitFloor.rate}/s, committed as they come: wait p50 ${round(commitFloor.latency.p50, 2)} p99 ${round(commitFloor.latency.p99, 2)} max ${round(commitFloor.latency.max, 2)} ms, ` +
      `${round(commitFloor.stalledShare * 100, 2)}% of the time in commits over 25 ms`,
  );

  const needed = Math.max(2 * SIZE.pairs, SIZE.fanoutSockets / 2, Math.ceil(SIZE.connections / SIZE.socketsPerPerson)) + 102;
  const seeded: Seeded = await seed(config, { people: needed, pairs: SIZE.pairs, groupMembers: Math.max(2, SIZE.fanoutSockets / 2), listThreads: 100, history: 1000 });

  const profileDir = profile ? join(import.meta.dir, "results", `profile-${started.getTime()}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const a = await startParley({ port: freePort(), env: parleyEnv(config), name: "bench-a", profileDir });
  cleanups.push(a.stop);
  const origin = a.url;
  const person = (i: number) => seeded.people[i]!;
  const pairList = seeded.pairs.map(([s, r, threadId]) => ({ sender: person(s), receiver: person(r), threadId }));

  // Only while the relays run: its flushes would weigh on the scenarios after them.
  const disk = wants("relay") || wants("cross") ? DiskProbe.start(tmpdir(), databaseDir) : null;
  if (disk) cleanups.push(() => disk.stop());
  if (wants("relay")) {
    note(`scenario 1: persisted 1:1 relay, ${SIZE.pairs} pairs over WebSocket`);
    const steps = await relay({ senderUrl: a.url, receiverUrl: a.url, pairs: pairList, rates: SIZE.rates, stepMs: SIZE.stepMs, warmupMs: SIZE.warmupMs, serverPids: [a.pid], disk });
    results.relay = summarizeRelay(steps, dbBase.insertsPerSecond);
  }

  if (wants("cross") && REDIS_HOP) {
    note("scenario 5: cross-instance relay, senders on A, receivers on B (through Redis)");
    const b = await startParley({ port: freePort(), env: parleyEnv(config), name: "bench-b" });
    cleanups.push(b.stop);
    const steps = await relay({ senderUrl: a.url, receiverUrl: b.url, pairs: pairList, rates: SIZE.rates, stepMs: SIZE.stepMs, warmupMs: SIZE.warmupMs, serverPids: [a.pid, b.pid], disk });
    results.cross = summarizeRelay(steps, dbBase.insertsPerSecond);
    await b.stop();
  }
  await disk?.stop();

  let bare: Proc | null = null;
  const bareServer = async () => (bare ??= await startBare(freePort()));
  if (wants("fanout")) {
    const n = SIZE.fanoutSockets;
    note(`scenario 2: fan-out to ${n} sockets on one group thread`);
    const members = seeded.group.members;
    const parley: FanoutResult = await fanout(
      {
        url: () => `${a.url.replace("http", "ws")}/api/v1/ws`,
        headers: (i) => ({ authorization: `Bearer ${person(members[i % members.length]!).token}`, origin }),
        subscribe: () => JSON.stringify({ type: "subscribe", threadId: seeded.group.threadId }),
        publish: (text, serial) => JSON.stringify({ type: "send", threadId: seeded.group.threadId, text, clientId: `f${serial}` }),
        // The text without parsing the frame: the client must cost the same per frame as it
        // does against the bare baseline, or it measures itself.
        textOf: (data) => {
          if (!data.startsWith('{"type":"message"')) return null;
          const at = data.indexOf('"text":"');
          return at < 0 ? null : data.slice(at + 8, data.indexOf('"', at + 8));
        },
        pid: a.pid,
      },
      { sockets: n, paced: quick ? 20 : 100, perSecond: 20, burst: SIZE.fanoutBurst },
    );
    const b = await bareServer();
    const baseline: FanoutResult = await fanout(
      { url: () => `${b.url.replace("http", "ws")}/ws`, headers: () => ({}), subscribe: () => null, publish: (text) => `pub ${text}`, textOf: (data) => data, pid: b.pid },
      { sockets: n, paced: quick ? 20 : 100, perSecond: 20, burst: SIZE.fanoutBurst },
    );
    results.fanout = { parley, bareBun: baseline, ratio: round(parley.burstDeliveriesPerSecond / baseline.burstDeliveriesPerSecond, 2) };
    note(`  parley: last socket p50 ${round(parley.lastArrival.p50, 2)} p99 ${round(parley.lastArrival.p99, 2)} ms, ${parley.burstDeliveriesPerSecond} deliveries/s; bare Bun ${baseline.burstDeliveriesPerSecond}/s`);
  }

  if (wants("connections")) {
    const total = SIZE.connections;
    note(`scenario 3: ${total} idle authenticated, subscribed sockets`);
    // Fresh processes, Parley's and the baseline's alike: memory read from a server that ran
    // the other scenarios moves with whatever its collector frees meanwhile (even below zero).
    const instances: Proc[] = [];
    // Over 15,000 sockets: several instances (each under the 20,000 open files a process may
    // have here), each reached on its own 127.0.0.x address, so the client ports do not run out.
    const perInstance = 15_000;
    for (let i = 0; i * perInstance < total; i++) {
      const host = `127.0.0.${i + 1}`;
      const extra = await startParley({ port: freePort(), host, env: parleyEnv(config), name: `bench-c${i}` });
      cleanups.push(extra.stop);
      instances.push(extra);
    }
    const parts: ConnectionPlanItem[][] = instances.map(() => []);
    const pairsOf = seeded.pairs;
    for (let k = 0; k < total; k++) {
      const inst = Math.floor(k / perInstance);
      const [s, , threadId] = pairsOf[Math.floor(k / SIZE.socketsPerPerson) % pairsOf.length]!;
      const who = person(s);
      parts[inst]!.push({
        url: `${instances[inst]!.url.replace("http", "ws")}/api/v1/ws`,
        headers: { authorization: `Bearer ${who.token}`, origin: instances[inst]!.url },
        subscribe: JSON.stringify({ type: "subscribe", threadId }),
      });
    }
    const parley: ConnectionsResult = await connections(parts, instances.map((p) => p.pid));
    for (const instance of instances) await instance.stop();
    const b = await startBare(freePort());
    const bareCount = Math.min(total, perInstance);
    const baseline: ConnectionsResult = await connections(
      [Array.from({ length: bareCount }, () => ({ url: `${b.url.replace("http", "ws")}/ws`, headers: {}, subscribe: null }))],
      [b.pid],
    );
    await b.stop();
    results.connections = { parley, bareBun: baseline, ratio: round(parley.bytesPerSocket / baseline.bytesPerSocket, 2) };
    note(`  parley: ${parley.open}/${parley.sockets} open, ${parley.connectPerSecond}/s, ${round(parley.bytesPerSocket / 1024, 2)} KiB each; bare Bun ${round(baseline.bytesPerSocket / 1024, 2)} KiB`);
  }

  if (wants("pages")) {
    note("scenario 4: pages at 32 concurrent requests");
    const reader = person(seeded.reader.person);
    const cookie = { cookie: `parley_session=${reader.token}` };
    const list: PagesResult = await pages(`${a.url}/messages`, cookie, { concurrency: 32, seconds: SIZE.pageSeconds, warmupSeconds: SIZE.pageWarmupSeconds });
    const chat: PagesResult = await pages(`${a.url}/chat/${seeded.reader.longThread}`, cookie, { concurrency: 32, seconds: SIZE.pageSeconds, warmupSeconds: SIZE.pageWarmupSeconds });
    const b = await bareServer();
    const baseline: PagesResult = await pages(`${b.url}/page`, {}, { concurrency: 32, seconds: SIZE.pageSeconds, warmupSeconds: SIZE.pageWarmupSeconds });
    results.pages = { list, chat, bareBun: baseline, listRatio: round(list.requestsPerSecond / baseline.requestsPerSecond, 3) };
    note(`  /messages ${list.requestsPerSecond}/s p99 ${round(list.p99, 2)} ms; /chat ${chat.requestsPerSecond}/s p99 ${round(chat.p99, 2)} ms; bare Bun page ${baseline.requestsPerSecond}/s`);
  }

  await (bare as Proc | null)?.stop();
  await a.stop();
  report();
}

/**
 * The database's data folder, where it is on this machine and readable (the disk probe watches
 * its disk); null for a database elsewhere, and for the embedded one, whose commits never wait
 * for the disk (PGlite does not flush: README, "The delivery guarantee").
 */
async function dataDirectory(db: Awaited<ReturnType<typeof openDb>>, config: Config): Promise<string | null> {
  if (!config.databaseUrl) return null;
  const host = new URL(config.databaseUrl).hostname;
  if (!["127.0.0.1", "localhost", "[::1]", ""].includes(host)) return null;
  try {
    const [row] = await db.query<{ data_directory: string }>("SHOW data_directory");
    return row?.data_directory ?? null;
  } catch {
    return null; // not a superuser, nor allowed to read settings
  }
}

function summarizeRelay(steps: RelayStep[], ceiling: number) {
  const good = steps.filter((s) => s.delivery.p99 < 25 && !s.broken);
  const best = good.at(-1) ?? null;
  const top = steps.reduce((m, s) => Math.max(m, s.delivered), 0);
  return {
    steps,
    bestUnder25ms: best ? best.delivered : 0,
    /** Which step that was: a rate run twice (the disk stalled) has two, often alike in delivered/s. */
    bestStep: best ? steps.indexOf(best) : null,
    peakDelivered: top,
    ratioToDbCeiling: round((best?.delivered ?? 0) / ceiling, 2),
  };
}

function report() {
  const rows: [string, string, string, string, string][] = [["figure", "Parley", "baseline (same run)", "ratio", "target"]];
  const r = results as any;
  if (r.relay) {
    rows.push(["1:1 relay, delivered/s at p99 < 25 ms", String(r.relay.bestUnder25ms), `${r.dbBaseline.insertsPerSecond} DB single inserts/s`, String(r.relay.ratioToDbCeiling), "≥ 0.8 (goal ≥ 25,000/s)"]);
    const best = r.relay.bestStep === null ? undefined : (r.relay.steps as RelayStep[])[r.relay.bestStep];
    if (best) {
      rows.push(["  delivery p50 / p99 / p99.9 (ms)", `${round(best.delivery.p50, 2)} / ${round(best.delivery.p99, 2)} / ${round(best.delivery.p999, 2)}`, "", "", "p99 < 25"]);
      rows.push(["  ack p50 / p99 / p99.9 (ms)", `${round(best.ack.p50, 2)} / ${round(best.ack.p99, 2)} / ${round(best.ack.p999, 2)}`, "", "", ""]);
      rows.push(["  CPU: client / server (% of a core)", `${best.clientCpu} / ${best.serverCpu.join("+")}`, "", "", ""]);
    }
    const withDisk = (r.relay.steps as RelayStep[]).filter((s) => s.disk);
    if (withDisk.length) {
      const stalled = withDisk.filter((s) => s.disk!.stalledShare >= 0.01).length;
      const worst = Math.max(...withDisk.map((s) => (s.disk!.flush.count ? s.disk!.flush.max : 0)));
      rows.push(["  steps the disk stalled (flushes > 25 ms, ≥ 1% of it)", `${stalled} of ${withDisk.length}`, `worst flush ${round(worst, 1)} ms`, "", ""]);
    }
    const floor = r.dbBaseline.commitFloor;
    rows.push([`  the database alone at ${floor.rate}/s: commit wait p50 / p99 (ms)`, "", `${round(floor.latency.p50, 2)} / ${round(floor.latency.p99, 2)}`, "", "the relay's floor"]);
    rows.push(["1:1 relay, peak delivered/s", String(r.relay.peakDelivered), r.dbBaseline.pgbench ? `pgbench ${r.dbBaseline.pgbench} tps` : "", "", ""]);
  }
  if (r.cross) rows.push(["cross-instance relay at p99 < 25 ms", String(r.cross.bestUnder25ms), `${r.relay?.bestUnder25ms ?? "?"} same instance`, r.relay?.bestUnder25ms ? String(round(r.cross.bestUnder25ms / r.relay.bestUnder25ms, 2)) : "", ""]);
  if (r.fanout) {
    rows.push([`fan-out to ${r.fanout.parley.sockets}: deliveries/s`, String(r.fanout.parley.burstDeliveriesPerSecond), `${r.fanout.bareBun.burstDeliveriesPerSecond} bare Bun topic`, String(r.fanout.ratio), "≥ 0.5"]);
    rows.push(["  last socket p50 / p99 (ms)", `${round(r.fanout.parley.lastArrival.p50, 2)} / ${round(r.fanout.parley.lastArrival.p99, 2)}`, `${round(r.fanout.bareBun.lastArrival.p50, 2)} / ${round(r.fanout.bareBun.lastArrival.p99, 2)}`, "", "p99 < 50"]);
  }
  if (r.connections) {
    rows.push([`idle sockets: memory each (KiB), ${r.connections.parley.open} open`, String(round(r.connections.parley.bytesPerSocket / 1024, 2)), `${round(r.connections.bareBun.bytesPerSocket / 1024, 2)} bare Bun`, String(r.connections.ratio), "< 8 KiB (≤ ~3×)"]);
    rows.push(["  connects/s", String(r.connections.parley.connectPerSecond), `${r.connections.bareBun.connectPerSecond} bare Bun`, "", ""]);
  }
  if (r.pages) {
    rows.push([`/messages (100 threads), req/s (${r.pages.list.tool})`, String(r.pages.list.requestsPerSecond), `${r.pages.bareBun.requestsPerSecond} bare Bun page`, String(r.pages.listRatio), "≥ 5,000/s"]);
    rows.push(["  /messages p99 (ms)", String(round(r.pages.list.p99, 2)), String(round(r.pages.bareBun.p99, 2)), "", ""]);
    rows.push(["/chat/:id (1,000 messages), req/s", String(r.pages.chat.requestsPerSecond), "", "", ""]);
    rows.push(["  /chat/:id p99 (ms)", String(round(r.pages.chat.p99, 2)), "", "", ""]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => cell.padEnd(widths[c]!)).join("  ");
  console.log(`\n${line(rows[0]!)}\n${widths.map((w) => "-".repeat(w)).join("  ")}\n${rows.slice(1).map(line).join("\n")}\n`);

  const dir = join(import.meta.dir, "results");
  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, "-");
  writeFileSync(join(dir, `${stamp}.json`), JSON.stringify(results, null, 2));
  writeFileSync(join(dir, "latest.json"), JSON.stringify(results, null, 2));
  const series = [];
  if (r.relay) {
    series.push({ name: "1:1 relay, delivery p99", steps: r.relay.steps, pick: (s: RelayStep) => s.delivery.p99 });
    series.push({ name: "1:1 relay, delivery p50", steps: r.relay.steps, pick: (s: RelayStep) => s.delivery.p50 });
    series.push({ name: "1:1 relay, ack p99", steps: r.relay.steps, pick: (s: RelayStep) => s.ack.p99 });
  }
  if (r.cross) series.push({ name: "cross-instance, delivery p99", steps: r.cross.steps, pick: (s: RelayStep) => s.delivery.p99 });
  const svg = latencyChart(`Parley: latency against offered load (${(results.meta as { mode: string }).mode})`, series, r.dbBaseline?.insertsPerSecond ?? null);
  writeFileSync(join(dir, `${stamp}.svg`), svg);
  writeFileSync(join(dir, "latest.svg"), svg);
  console.log(`results: bench/results/${stamp}.json, chart: bench/results/${stamp}.svg`);
}

try {
  await main();
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}
