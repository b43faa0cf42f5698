// Scenario 2: fan-out. One thread, many subscribed sockets, one sender. Paced: the time until
// the last socket has each message. Burst: deliveries per second with the sender going flat
// out. The same client code runs against a bare Bun topic for the baseline.
import { CpuMeter, latency, type Latency, round } from "../stats.ts";
import { closeAll, openSockets } from "./sockets.ts";

export interface FanoutResult {
  sockets: number;
  lastArrival: Latency;
  burstDeliveriesPerSecond: number;
  clientCpu: number;
  serverCpu: number;
}

export interface FanoutTarget {
  /** URL for socket i, and its headers. */
  url(i: number): string;
  headers(i: number): Record<string, string>;
  /** The frame that makes socket i follow the topic, or null if it follows on connect. */
  subscribe(i: number): string | null;
  /** The frame the sender sends to publish `text`. */
  publish(text: string, serial: number): string;
  /** The text of a received frame if it is a published message. */
  textOf(data: string): string | null;
  pid: number;
}

export async function fanout(target: FanoutTarget, options: { sockets: number; paced: number; perSecond: number; burst: number }): Promise<FanoutResult> {
  const arrivals = new Map<number, { sent: number; got: number; last: number }>();
  let deliveries = 0;
  const onMessage = (_i: number, data: string) => {
    const text = target.textOf(data);
    if (text === null) return;
    const id = Number(text.slice(0, text.indexOf(" ")));
    const entry = arrivals.get(id);
    if (!entry) return;
    entry.got++;
    entry.last = performance.now();
    deliveries++;
  };
  const sockets = await openSockets(Array.from({ length: options.sockets }, (_, i) => target.url(i)), target.headers, onMessage);
  const sender = (await openSockets([target.url(0)], target.headers, () => {}))[0]!;
  sockets.forEach((ws, i) => {
    const frame = target.subscribe(i);
    if (frame) ws.send(frame);
  });
  await Bun.sleep(1000 + options.sockets);

  // Paced: one message at a time, the time until the last socket has it.
  let serial = 0;
  for (let k = 0; k < options.paced; k++) {
    const id = serial++;
    arrivals.set(id, { sent: performance.now(), got: 0, last: 0 });
    sender.send(target.publish(`${id} paced`, id));
    await Bun.sleep(1000 / options.perSecond);
  }
  await Bun.sleep(1000);
  const paced = [...arrivals.values()].filter((a) => a.got === options.sockets).map((a) => a.last - a.sent);

  // Burst: as fast as the sender can, then until every socket has every one.
  arrivals.clear();
  deliveries = 0;
  const meter = new CpuMeter([target.pid]);
  const start = performance.now();
  for (let k = 0; k < options.burst; k++) {
    const id = serial++;
    arrivals.set(id, { sent: performance.now(), got: 0, last: 0 });
    sender.send(target.publish(`${id} burst`, id));
  }
  const expected = options.burst * options.sockets;
  const deadline = performance.now() + 60_000;
  while (deliveries < expected && performance.now() < deadline) await Bun.sleep(5);
  const elapsed = Math.max(...[...arrivals.values()].map((a) => a.last)) - start;
  const cpu = meter.read();
  closeAll(sockets);
  sender.close();
  await Bun.sleep(300);
  return {
    sockets: options.sockets,
    lastArrival: latency(paced),
    burstDeliveriesPerSecond: Math.round((deliveries * 1000) / elapsed),
    clientCpu: round(cpu.client)!,
    serverCpu: round(cpu.servers[0]!)!,
  };
}
