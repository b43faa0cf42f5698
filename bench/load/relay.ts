// Scenario 1 (and 5): persisted 1:1 relay. P pairs; each sender sends at an offered rate over
// its WebSocket; every message is stored, acknowledged to its sender and delivered to the
// partner's socket. The rate steps up until latency breaks. Send→receive latency is measured
// on one clock: the sender's timestamp travels in the text, and both ends are this process.
import { CommandCpu, CpuMeter, latency, type Latency, round } from "../stats.ts";
import { closeAll, openSockets } from "./sockets.ts";
import { note } from "../progress.ts";
import type { BenchPerson } from "../seed.ts";
import type { DiskProbe, DiskWindow } from "./disk.ts";

export interface RelayStep {
  offered: number;
  delivered: number;
  ack: Latency;
  delivery: Latency;
  clientCpu: number;
  serverCpu: number[];
  /** PostgreSQL's processes and Redis's, when they run on this machine (0 when not). */
  databaseCpu: number;
  redisCpu: number;
  errors: number;
  broken: boolean;
  /** The disk's flushes during the step, where the database's disk is this machine's. */
  disk: DiskWindow | null;
}

/** A step counts as broken past this p99 (the target is 25 ms; a little past it keeps stepping). */
const BREAK_P99_MS = 100;
/**
 * A step whose p99 missed 25 ms while the disk's flushes stalled for this share of it (enough
 * to move a p99 on their own) runs once more at the same rate: its tail may be the disk's, not
 * Parley's. Both runs are reported.
 */
const DISK_STALLED_SHARE = 0.01;
/**
 * A step broken by its tail alone while the disk stalled, with Parley still delivering this
 * share of the offered rate, does not end the ladder: the disk, not Parley, broke it. One
 * that falls behind does.
 */
const KEEPING_UP = 0.95;
const PAD = "x".repeat(64);

/**
 * The send time in a frame's text, read without parsing the frame: the load generator shares
 * the server's two cores, and parsing every ack and delivery cost it 4–5 % of a core at
 * 20,000 messages/s that the server then did not have (bench/RESULTS.md, section 11). A
 * message's text is its only "text" key; nothing before it (ids, the sender) holds one.
 */
function sentAt(frame: string): number {
  return parseFloat(frame.slice(frame.indexOf('"text":"') + 8));
}

export async function relay(options: {
  senderUrl: string;
  receiverUrl: string;
  pairs: { sender: BenchPerson; receiver: BenchPerson; threadId: number }[];
  rates: number[];
  stepMs: number;
  warmupMs: number;
  serverPids: number[];
  disk: DiskProbe | null;
}): Promise<RelayStep[]> {
  const { pairs } = options;
  let measuring = false;
  let acks: number[] = [];
  let deliveries: number[] = [];
  let delivered = 0;
  let errors = 0;
  const subscribed = new Set<number>();

  const receivers = await openSockets(
    pairs.map(() => `${options.receiverUrl}/api/v1/ws`),
    (i) => ({ authorization: `Bearer ${pairs[i]!.receiver.token}`, origin: options.receiverUrl }),
    (i, data) => {
      if (data.startsWith('{"type":"message"')) {
        if (!measuring) return;
        deliveries.push(performance.now() - sentAt(data));
        delivered++;
      } else if (JSON.parse(data).type === "subscribed") subscribed.add(i);
    },
  );
  const senders = await openSockets(
    pairs.map(() => `${options.senderUrl}/api/v1/ws`),
    (i) => ({ authorization: `Bearer ${pairs[i]!.sender.token}`, origin: options.senderUrl }),
    (_i, data) => {
      if (data.startsWith('{"type":"ack"')) {
        if (measuring) acks.push(performance.now() - sentAt(data));
      } else if (JSON.parse(data).type === "error") errors++;
    },
  );
  receivers.forEach((ws, i) => ws.send(JSON.stringify({ type: "subscribe", threadId: pairs[i]!.threadId })));
  while (subscribed.size < pairs.length) await Bun.sleep(20);

  const steps: RelayStep[] = [];
  // clientIds unique to this run: a repeated one is the same message (idempotent send), and
  // scenario 5 runs on the same pairs after scenario 1.
  const run = Date.now().toString(36);
  let serial = 0;
  const retried = new Set<number>();
  for (let r = 0; r < options.rates.length; r++) {
    const rate = options.rates[r]!;
    acks = [];
    deliveries = [];
    delivered = 0;
    errors = 0;
    let sent = 0;
    const started = performance.now();
    let meter: CpuMeter | null = null;
    let services: { database: CommandCpu; redis: CommandCpu } | null = null;
    let measureStart = 0;
    let measureWall = 0;
    // Pace the sends: every millisecond, send what the rate says is due by now.
    while (performance.now() - started < options.stepMs) {
      const elapsed = performance.now() - started;
      if (!measuring && elapsed >= options.warmupMs) {
        measuring = true;
        meter = new CpuMeter(options.serverPids);
        services = { database: new CommandCpu("postgres"), redis: new CommandCpu("redis-server") };
        measureStart = performance.now();
        measureWall = Date.now();
      }
      const due = Math.floor((rate * elapsed) / 1000) - sent;
      for (let k = 0; k < due; k++) {
        const i = sent % pairs.length;
        senders[i]!.send(JSON.stringify({ type: "send", threadId: pairs[i]!.threadId, text: `${performance.now().toFixed(3)} ${PAD}`, clientId: `${run}-${serial++}` }));
        sent++;
      }
      await Bun.sleep(1);
    }
    const measuredMs = performance.now() - measureStart;
    const cpu = meter!.read();
    const databaseCpu = services!.database.read();
    const redisCpu = services!.redis.read();
    measuring = false;
    // Let the last ones land (they are not counted: the window has closed), and a flush still
    // running when it closed end, so the part of it inside the window counts.
    await Bun.sleep(300);
    const step: RelayStep = {
      offered: rate,
      delivered: Math.round((delivered * 1000) / measuredMs),
      ack: latency(acks),
      delivery: latency(deliveries),
      clientCpu: round(cpu.client)!,
      serverCpu: cpu.servers.map((c) => round(c)!),
      databaseCpu: round(databaseCpu)!,
      redisCpu: round(redisCpu)!,
      errors,
      broken: false,
      disk: options.disk?.window(measureWall, measureWall + measuredMs) ?? null,
    };
    step.broken = step.delivery.p99 > BREAK_P99_MS || step.delivered < 0.85 * rate || errors > 0;
    steps.push(step);
    const disk = step.disk ? `, disk flush p99 ${round(step.disk.flush.p99, 2)} max ${round(step.disk.flush.max, 2)} ms (${round(step.disk.stalledShare * 100, 2)}% stalled)` : "";
    note(
      `  relay ${rate}/s offered: ${step.delivered}/s delivered, delivery p50 ${round(step.delivery.p50, 2)} p99 ${round(step.delivery.p99, 2)} ms, ` +
        `ack p99 ${round(step.ack.p99, 2)} ms, cpu client ${step.clientCpu}% server ${step.serverCpu.join("/")}% postgres ${step.databaseCpu}% redis ${step.redisCpu}%${disk}${errors ? `, ${errors} errors` : ""}`,
    );
    const diskStalled = errors === 0 && (step.disk?.stalledShare ?? 0) >= DISK_STALLED_SHARE;
    if (diskStalled && step.delivery.p99 >= 25 && !retried.has(r)) {
      retried.add(r);
      note(`  (the disk stalled during that step: ${rate}/s again)`);
      r--;
    } else if (step.broken && !(diskStalled && step.delivered >= KEEPING_UP * rate)) break;
    await Bun.sleep(500);
  }
  closeAll(receivers);
  closeAll(senders);
  await Bun.sleep(300);
  return steps;
}
