// The bus between instances, on a real Redis: two buses play two instances. Each hands its own
// events to its own listeners at once and never again from Redis; the other gets exactly the
// events of the topics it has listeners for, in the order they were published.
import { afterAll, describe, expect, test } from "bun:test";
import { redisBus, type Bus } from "../src/realtime/bus.ts";
import { redisNames, topics, type Topic } from "../src/realtime/topics.ts";
import type { BusEvent } from "../src/realtime/events.ts";
import { createLogger } from "../src/log.ts";
import { withRedis } from "./helpers/server.ts";
import Redis from "ioredis";

const names = redisNames(`bustest${Date.now().toString(36)}`);
const log = createLogger("error", "bus-test");
const buses: Bus[] = [];

function instance(id: string, on = names): { bus: Bus; heard: [Topic, BusEvent][] } {
  const heard: [Topic, BusEvent][] = [];
  const bus = redisBus(process.env.REDIS_URL!, on, id, (topic, event) => heard.push([topic, event]), log);
  buses.push(bus);
  return { bus, heard };
}

const typing = (threadId: number, n: number): BusEvent => ({ type: "typing", threadId, user: { id: n, username: `user${n}` } });

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(5);
  }
}

const monitors: Redis[] = [];

/** What Redis sees published on the bus channel, as the first line (the publisher) and the rest. */
async function watchChannel(on: typeof names): Promise<{ published: { from: string; body: string }[] }> {
  const monitor = await new Redis(process.env.REDIS_URL!).monitor();
  monitors.push(monitor);
  const published: { from: string; body: string }[] = [];
  monitor.on("monitor", (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() !== "publish" || args[1] !== on.bus) return;
    // MONITOR shows the payload quoted: its newlines as backslash-n.
    const at = args[2]!.indexOf("\\n");
    published.push({ from: args[2]!.slice(0, at), body: args[2]!.slice(at + 2) });
  });
  return { published };
}

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
  for (const m of monitors) m.disconnect();
});

describe.skipIf(!withRedis)("the bus through Redis", () => {
  test("the other instance hears exactly the events of the topics it follows, in order, once; the publisher hears its own once", async () => {
    const a = instance("a");
    const b = instance("b");
    await until(() => a.bus.healthy() && b.bus.healthy());
    for (const topic of [topics.thread(1), topics.user(7)]) {
      await a.bus.subscribe(topic);
      await b.bus.subscribe(topic);
    }

    // One tick: a message-like run of events on several topics, one event to many topics.
    const shared = typing(1, 99);
    a.bus.publish(topics.thread(1), typing(1, 1));
    a.bus.publish(topics.thread(2), typing(2, 2)); // nobody on B follows thread 2
    a.bus.publish(topics.user(7), shared);
    a.bus.publish(topics.user(8), shared);
    a.bus.publish(topics.thread(1), typing(1, 3));
    // The next tick: a second message on the channel.
    await Bun.sleep(0);
    a.bus.publish(topics.thread(1), typing(1, 4));

    await until(() => b.heard.length >= 4);
    await Bun.sleep(100); // anything extra would have arrived by now
    expect(b.heard.map(([topic, e]) => [topic, e.type === "typing" ? e.user.id : null])).toEqual([
      ["thread:1", 1],
      ["user:7", 99],
      ["thread:1", 3],
      ["thread:1", 4],
    ]);
    // A delivered its own six at once, and none came back through Redis (though A follows
    // thread 1 and user 7 too).
    expect(a.heard.length).toBe(6);

    // B no longer follows thread 1: its events stop reaching B; user 7's still do.
    await b.bus.unsubscribe(topics.thread(1));
    a.bus.publish(topics.thread(1), typing(1, 5));
    a.bus.publish(topics.user(7), typing(0, 6));
    await until(() => b.heard.length >= 5);
    await Bun.sleep(100);
    expect(b.heard.slice(4).map(([topic]) => topic)).toEqual(["user:7"]);
  });

  test("text the bus did not write on its channel is skipped, and delivery goes on", async () => {
    const b = instance("c");
    const a = instance("d");
    await until(() => a.bus.healthy() && b.bus.healthy());
    await b.bus.subscribe(topics.thread(3));
    const raw = new Redis(process.env.REDIS_URL!);
    await raw.publish(names.bus, "someone else\nthread:3\t{not json\nno tab here\n\n");
    // Lines that look like the bus's own control lines, from no instance: nothing breaks.
    await raw.publish(names.bus, "someone else\nhere nobody");
    await raw.publish(names.bus, "someone else\n12345");
    await raw.publish(names.bus, "c\nnot a serial");
    await raw.quit();
    a.bus.publish(topics.thread(3), typing(3, 1));
    await until(() => b.heard.length >= 1);
    await Bun.sleep(100);
    expect(b.heard.map(([topic, e]) => [topic, e.type])).toEqual([["thread:3", "typing"]]);
  });

  test("a message heard twice from the same instance (published again after a failure) is delivered once; an older one not heard yet still is", async () => {
    const b = instance("repeat-b");
    await until(() => b.bus.healthy());
    await b.bus.subscribe(topics.user(12));
    await b.bus.subscribe(topics.control);
    const raw = new Redis(process.env.REDIS_URL!);
    const feed = (n: number) => JSON.stringify({ type: "feed", cursor: `c${n}`, change: { kind: "presence", userId: n, online: true, lastSeen: null } });
    const revoke = JSON.stringify({ type: "revoke", userId: 12, sessionId: null });
    await raw.publish(names.bus, `other-1\n5\nuser:12\t${feed(5)}\ncontrol\t${revoke}\n`);
    await raw.publish(names.bus, `other-1\n6\nuser:12\t${feed(6)}\n`);
    // 5 again (its first publish did reach Redis), and 4, which had not: published again in order.
    await raw.publish(names.bus, `other-1\n4\nuser:12\t${feed(4)}\n`);
    await raw.publish(names.bus, `other-1\n5\nuser:12\t${feed(5)}\ncontrol\t${revoke}\n`);
    // Another instance's serials are its own.
    await raw.publish(names.bus, `other-2\n5\nuser:12\t${feed(50)}\n`);
    await raw.quit();
    await until(() => b.heard.length >= 5);
    await Bun.sleep(100);
    expect(b.heard.map(([topic, e]) => `${topic}:${e.type === "feed" && e.change.kind === "presence" ? e.change.userId : e.type}`)).toEqual([
      "user:12:5",
      "control:revoke",
      "user:12:6",
      "user:12:4",
      "user:12:50",
    ]);
  });

  test("an instance alone on the channel publishes nothing, and a newcomer hears everything published once it listens", async () => {
    // A channel of its own: the buses of the tests above are still on theirs.
    const channel = redisNames(`busalone${Date.now().toString(36)}`);
    const watch = await watchChannel(channel);
    const a = instance("solo", channel);
    await until(() => a.bus.healthy());
    await a.bus.subscribe(topics.thread(5));
    // Its first publish reaches only itself: after that, it knows it is alone.
    a.bus.publish(topics.thread(5), typing(5, 1));
    await Bun.sleep(200);
    // Events, not its heartbeat (a serial alone): MONITOR shows an event line's tab as "\t".
    const events = () => watch.published.filter((p) => p.from === "solo" && p.body.includes("\\t")).length;
    const before = events();
    for (let n = 2; n <= 5; n++) {
      a.bus.publish(topics.thread(5), typing(5, n));
      await Bun.sleep(10);
    }
    await Bun.sleep(200); // MONITOR reports a moment after the command ran
    expect(before).toBeGreaterThan(0); // the watch sees what A publishes
    expect(events()).toBe(before);
    // It still hears its own, at once.
    expect(a.heard.map(([, e]) => (e.type === "typing" ? e.user.id : null))).toEqual([1, 2, 3, 4, 5]);

    // A newcomer: from the moment its subscribe resolves, what A publishes reaches it.
    const b = instance("newcomer", channel);
    await until(() => b.bus.healthy());
    await b.bus.subscribe(topics.thread(5));
    a.bus.publish(topics.thread(5), typing(5, 6));
    await until(() => b.heard.length >= 1);
    a.bus.publish(topics.thread(5), typing(5, 7));
    await until(() => b.heard.length >= 2);
    await Bun.sleep(100);
    expect(b.heard.map(([, e]) => (e.type === "typing" ? e.user.id : null))).toEqual([6, 7]);
    // The handshake, as Redis saw it: B's hello, then A's answer.
    const said = watch.published.filter((p) => p.body === "hello" || p.body.startsWith("here ")).map((p) => `${p.from}:${p.body}`);
    expect(said).toContain("newcomer:hello");
    expect(said.indexOf("solo:here newcomer")).toBeGreaterThan(said.indexOf("newcomer:hello"));
  });

  test("a listener that never says hello (redis-cli) is found within a couple of seconds", async () => {
    const channel = redisNames(`buslistener${Date.now().toString(36)}`);
    const a = instance("solo-2", channel);
    await until(() => a.bus.healthy());
    await a.bus.subscribe(topics.thread(6));
    a.bus.publish(topics.thread(6), typing(6, 1));
    await Bun.sleep(200);
    const raw = new Redis(process.env.REDIS_URL!);
    const heard: string[] = [];
    raw.on("message", (_channel: string, message: string) => heard.push(message));
    await raw.subscribe(channel.bus);
    const deadline = Date.now() + 3000;
    let n = 2;
    while (!heard.some((m) => m.startsWith("solo-2\n") && m.includes('"typing"')) && Date.now() < deadline) {
      a.bus.publish(topics.thread(6), typing(6, n++));
      await Bun.sleep(100);
    }
    await raw.quit();
    expect(heard.some((m) => m.startsWith("solo-2\n") && m.includes('"typing"'))).toBe(true);
  });

  test("a newcomer listens only once the instances there answered its own hello", async () => {
    const channel = redisNames(`bushandshake${Date.now().toString(36)}`);
    // An instance that is slow to answer, played by hand: it answers someone else's hello
    // first, then, 300 ms in, the newcomer's.
    const rawSub = new Redis(process.env.REDIS_URL!);
    const rawPub = new Redis(process.env.REDIS_URL!);
    let answeredAt = 0;
    rawSub.on("message", (_channel: string, message: string) => {
      if (message !== "newcomer-2\nhello") return;
      setTimeout(() => void rawPub.publish(channel.bus, "slow\nhere someone-else"), 100);
      setTimeout(() => {
        answeredAt = Date.now();
        void rawPub.publish(channel.bus, "slow\nhere newcomer-2");
      }, 300);
    });
    await rawSub.subscribe(channel.bus);
    const b = instance("newcomer-2", channel);
    await until(() => b.bus.healthy());
    await b.bus.subscribe(topics.thread(7));
    const resolvedAt = Date.now();
    await Promise.all([rawSub.quit(), rawPub.quit()]);
    expect(answeredAt).toBeGreaterThan(0);
    expect(resolvedAt).toBeGreaterThanOrEqual(answeredAt);
  });

  test("an instance alone whose subscription Redis dropped without telling it finds out, and publishes again", async () => {
    const channel = redisNames(`busdeaf${Date.now().toString(36)}`);
    const redisPort = Number(new URL(process.env.REDIS_URL!).port || 6379);
    // Between A and Redis, a proxy that never passes Redis's side of a close on: A cannot
    // tell its subscription is gone (a middlebox that lost the FIN).
    const upstreams = new Set<{ end(): void }>();
    const proxy = Bun.listen<{ up: Promise<{ write(d: Uint8Array): number; end(): void }> }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(client) {
          client.data = {
            up: Bun.connect({ hostname: "127.0.0.1", port: redisPort, socket: { data: (_s, d) => void client.write(d) } }).then((up) => {
              upstreams.add(up);
              return up;
            }),
          };
        },
        data: (client, d) => void client.data.up.then((up) => up.write(Buffer.from(d))),
        close: (client) => void client.data.up.then((up) => up.end()),
      },
    });
    const heardB: number[] = [];
    try {
      const viaProxy = redisBus(`redis://127.0.0.1:${proxy.port}`, channel, "deaf", () => {}, log);
      buses.push(viaProxy);
      await until(() => viaProxy.healthy());
      await viaProxy.subscribe(topics.thread(8));
      viaProxy.publish(topics.thread(8), typing(8, 0)); // proves A alone
      await Bun.sleep(300);
      const admin = new Redis(process.env.REDIS_URL!);
      const clients = (await admin.client("LIST")) as string;
      const line = clients.split("\n").find((l) => l.includes("name=parley-sub-deaf"))!;
      await admin.client("KILL", "ID", line.match(/id=(\d+)/)![1]!);
      await admin.quit();

      const b = redisBus(process.env.REDIS_URL!, channel, "hearing", (_topic, e) => void (e.type === "typing" && heardB.push(e.user.id)), log);
      buses.push(b);
      await until(() => b.healthy());
      await b.subscribe(topics.thread(8));
      // A publishes every 100 ms for 4 s; within its next two heartbeats it knows it is not alone.
      for (let n = 1; n <= 40; n++) {
        viaProxy.publish(topics.thread(8), typing(8, n));
        await Bun.sleep(100);
      }
      await Bun.sleep(200);
    } finally {
      proxy.stop(true);
      for (const up of upstreams) up.end();
    }
    // Everything from 3 s on reached B, in order.
    const from30 = heardB.filter((n) => n >= 30);
    expect(from30).toEqual(Array.from({ length: 11 }, (_, i) => 30 + i));
  });
});
