// What the bus and the fan-out make up for when Redis or the database misbehaves: events an
// instance could not publish, subscriptions made before Redis was reachable, re-reads asked
// for during a read, out-of-order events piling up while the database is away; and the
// shutdown and commit paths that must finish whatever a listener does.
import { afterAll, describe, expect, test } from "bun:test";
import { memoryBus, redisBus, type Bus } from "../src/realtime/bus.ts";
import { Fanout, type Delivery } from "../src/realtime/fanout.ts";
import { redisNames, topics, type Topic } from "../src/realtime/topics.ts";
import type { BusEvent, Message } from "../src/realtime/events.ts";
import { createLogger } from "../src/log.ts";
import { MessageWriter } from "../src/chat/writer.ts";
import { embedded, startServer, withRedis } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread } from "./helpers/client.ts";
import Redis from "ioredis";

const log = createLogger("error", "bus-recovery-test");
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}, 30_000);

async function until(check: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

/**
 * A TCP proxy to the test Redis that passes closes on both ways. `hold` makes new connections
 * wait before they reach Redis; `refuse` closes them at once (Redis unreachable for them).
 */
function redisProxy() {
  const target = new URL(process.env.REDIS_URL!);
  let gate: Promise<void> = Promise.resolve();
  let open = () => {};
  let refusing = false;
  type Up = { write(d: Uint8Array): number; end(): void };
  const ups = new Set<Up>();
  const server = Bun.listen<{ up: Promise<Up | null> }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        if (refusing) {
          client.data = { up: Promise.resolve(null) };
          client.end();
          return;
        }
        client.data = {
          up: gate.then(() =>
            Bun.connect({
              hostname: target.hostname,
              port: Number(target.port || 6379),
              socket: { data: (_s, d) => void client.write(d), close: () => void client.end() },
            }).then((up) => (ups.add(up), up)),
          ),
        };
      },
      data: (client, d) => {
        const copy = Buffer.from(d);
        void client.data.up.then((up) => up?.write(copy));
      },
      close: (client) => void client.data.up.then((up) => up?.end()),
    },
  });
  cleanups.push(async () => {
    server.stop(true);
    for (const up of ups) up.end();
  });
  return {
    url: `redis://127.0.0.1:${server.port}`,
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release: () => open(),
    set refusing(on: boolean) {
      refusing = on;
    },
  };
}

/** Closes, from Redis's side, the connection of the given client name. */
async function killClient(name: string): Promise<void> {
  const admin = new Redis(process.env.REDIS_URL!);
  try {
    const line = ((await admin.client("LIST")) as string).split("\n").find((l) => l.includes(` name=${name} `));
    if (!line) throw new Error(`no redis client named ${name}`);
    await admin.client("KILL", "ID", line.match(/id=(\d+)/)![1]!);
  } finally {
    await admin.quit();
  }
}

const message = (threadId: number, seq: number): Message => ({
  id: seq,
  threadId,
  seq,
  sender: { id: 1, username: "someone" },
  text: `m${seq}`,
  createdAt: new Date(0).toISOString(),
  clientId: null,
  kind: "text",
  event: null,
});

/** A fan-out on a bus of the test's choosing, reading a thread's log from an array. */
function fanoutOver(options: { bus?: (handler: (topic: Topic, event: BusEvent) => void) => Bus; committed: Message[]; messagesAfter?: (afterSeq: number, limit: number) => Promise<Message[]> }) {
  let fanout!: Fanout;
  const bus = (options.bus ?? memoryBus)((topic, event) => fanout.receive(topic, event));
  const read = async (afterSeq: number, limit: number) => options.committed.filter((m) => m.seq > afterSeq).slice(0, limit);
  fanout = new Fanout({
    bus,
    hub: () => undefined,
    render: () => "",
    lastSeq: async () => options.committed.length,
    messagesAfter: (_thread, afterSeq, limit) => (options.messagesAfter ?? read)(afterSeq, limit),
    log,
  });
  bus.onResync(() => fanout.resync());
  return { fanout, bus, read };
}

function listen(fanout: Fanout, topic: Topic): number[] {
  const seqs: number[] = [];
  fanout.listen(topic, (d: Delivery) => void (d.seq !== null && seqs.push(d.seq)));
  return seqs;
}

const multi = !embedded && withRedis;

describe.skipIf(!multi)("events an instance could not publish", () => {
  test("a message, its feed event and a logout sent on A while A's publisher reconnects reach B's sockets, once", async () => {
    const proxy = redisProxy();
    const a = await startServer({ env: { REDIS_URL: proxy.url } });
    const b = await startServer();
    cleanups.push(a.stop, b.stop);
    const [alice, bob] = await Promise.all([signup(a, "rcalice"), signup(b, "rcbob")]);
    const { thread } = await startThread(a, alice, bob);
    const bobWs = await SocketClient.open(b, bob);
    await bobWs.subscribe(thread.id);
    bobWs.send({ type: "subscribe", feed: "me" });
    await bobWs.next((f) => f.type === "subscribed" && f.feed === "me");
    // Alice also has a tab open on B: her logout on A must close it.
    const aliceOnB = await SocketClient.open(b, alice);
    await aliceOnB.subscribe(thread.id);
    await until(() => a.running.core.bus.healthy(), 5000, "A's bus");

    // A's publishing connection goes, and cannot come back for a while; its subscriber stays.
    proxy.refusing = true;
    await killClient(`parley-pub-${a.running.core.instanceId}`);
    await until(() => !a.running.core.bus.healthy(), 2000, "A to notice");
    const sent = await api(a, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "during the outage", clientId: "rc1" });
    expect(sent.status).toBe(201);
    expect((await api(a, alice, "POST", "/api/v1/logout")).status).toBe(204);
    await Bun.sleep(300);
    expect(bobWs.messagesOf(thread.id)).toHaveLength(0); // nothing went out yet

    proxy.refusing = false;
    await bobWs.until((f) => f.some((x) => x.type === "message" && x.message.text === "during the outage"), 10_000);
    await bobWs.until((f) => f.some((x) => x.type === "feed" && x.change === "message"), 5000);
    expect((await Promise.race([aliceOnB.closed, Bun.sleep(5000).then(() => null)]))?.code).toBe(4401);
    await Bun.sleep(500); // a repeat would have arrived by now
    expect(bobWs.messagesOf(thread.id).map((f) => f.message.seq)).toEqual([sent.body.message.seq]);
    expect(bobWs.frames.filter((f) => f.type === "feed" && f.change === "message")).toHaveLength(1);
    bobWs.close();
  }, 60_000);
});

describe.skipIf(!withRedis)("subscriptions made before Redis is reachable", () => {
  test("a message published before the instance's first connection is read once it connects", async () => {
    const names = redisNames(`busearly${Date.now().toString(36)}`);
    const proxy = redisProxy();
    proxy.hold();
    const committed: Message[] = [];
    const a = fanoutOver({ committed, bus: (handler) => redisBus(proxy.url, names, "early-a", handler, log) });
    const b = redisBus(process.env.REDIS_URL!, names, "early-b", () => {}, log);
    cleanups.push(() => a.bus.close(), () => b.close());
    await until(() => b.healthy(), 5000, "B's bus");
    const topic = topics.thread(9);
    await a.fanout.acquire(topic); // resolves at once: A is not connected yet
    const seqs = listen(a.fanout, topic);
    committed.push(message(9, 1));
    b.publish(topic, { type: "message", message: committed[0]! }); // A cannot hear it
    await Bun.sleep(200);
    proxy.release();
    await until(() => a.bus.healthy(), 5000, "A's bus");
    await until(() => seqs.length > 0, 5000, "message 1 on A");
    expect(seqs).toEqual([1]);
  }, 20_000);
});

describe("the fan-out's reads from the database", () => {
  test("a re-read asked for (a resync) while a read is running is not lost", async () => {
    const committed = [1, 2, 3].map((seq) => message(1, seq));
    let first: ((rows: Message[]) => void) | null = null;
    let reads = 0;
    const { fanout, read } = fanoutOver({
      committed,
      messagesAfter: (afterSeq, limit) => {
        if (reads++ > 0) return read(afterSeq, limit);
        // The first read's query runs before the outage: it sees 1 to 3 only.
        const snapshot = committed.filter((m) => m.seq > afterSeq);
        return new Promise((resolve) => (first = () => resolve(snapshot.slice(0, limit))));
      },
    });
    committed.length = 0;
    const topic = topics.thread(1);
    await fanout.acquire(topic);
    const seqs = listen(fanout, topic);
    committed.push(...[1, 2, 3].map((seq) => message(1, seq)));
    fanout.receive(topic, { type: "message", message: committed[2]! }); // 1 and 2 are late: a read
    await until(() => first !== null, 2000, "the first read");
    // Meanwhile Redis was away: 4 and 5 were published into the void, then the link is back.
    committed.push(message(1, 4), message(1, 5));
    fanout.resync();
    first!([]);
    await until(() => seqs.length >= 5, 3000, "messages 1 to 5");
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
  });

  test("while the database cannot be read, early events stop piling up; once it can, every message goes out once, in order", async () => {
    const N = 20_000;
    const committed = Array.from({ length: N }, (_, i) => message(2, i + 1));
    let down = false;
    const { fanout } = fanoutOver({
      committed: [],
      messagesAfter: async (afterSeq, limit) => {
        if (down) throw new Error("database away");
        return committed.filter((m) => m.seq > afterSeq).slice(0, limit);
      },
    });
    const topic = topics.thread(2);
    await fanout.acquire(topic);
    const seqs = listen(fanout, topic);
    down = true;
    // 1 never arrives on the bus; 2 to N do.
    const started = performance.now();
    for (let seq = 2; seq <= N; seq++) fanout.receive(topic, { type: "message", message: committed[seq - 1]! });
    expect(performance.now() - started).toBeLessThan(2000);
    await Bun.sleep(150);
    const state = (fanout as unknown as { topics: Map<Topic, { held: Map<number, BusEvent> }> }).topics.get(topic)!;
    expect(state.held.size).toBeLessThanOrEqual(1000);
    expect(seqs).toEqual([]);
    down = false;
    await until(() => seqs.length >= N, 10_000, "all messages");
    await Bun.sleep(100);
    expect(seqs.length).toBe(N);
    expect(seqs.every((seq, i) => seq === i + 1)).toBe(true);
  }, 30_000);
});

describe("finishing whatever a listener does", () => {
  test("a server stopped in a process that goes on does not keep it alive for the stop's grace period", async () => {
    const script = `
      const { startServer } = await import(${JSON.stringify(`${import.meta.dir}/helpers/server.ts`)});
      const server = await startServer();
      await server.stop();
      console.log("stopped " + Date.now());
    `;
    const child = Bun.spawn(["bun", "-e", script], { env: process.env, stdout: "pipe", stderr: "pipe" });
    const out = await new Response(child.stdout).text();
    await child.exited;
    const exitedAt = Date.now();
    const stoppedAt = Number(out.match(/stopped (\d+)/)?.[1]);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(exitedAt - stoppedAt).toBeLessThan(3000);
  }, 30_000);

  test("a commit listener that throws: the senders still hear their messages were stored, drain() ends, the error is logged", async () => {
    const server = await startServer();
    cleanups.push(server.stop);
    const [alice, bob] = await Promise.all([signup(server, "ocalice"), signup(server, "ocbob")]);
    const { thread } = await startThread(server, alice, bob);
    const logged: unknown[] = [];
    const writer = new MessageWriter(
      server.running.core.db,
      () => {
        throw new Error("a listener broke");
      },
      (err) => logged.push(err),
    );
    const timeout = <T>(p: Promise<T>) => Promise.race([p, Bun.sleep(3000).then(() => "timed out" as const)]);
    const results = await timeout(
      Promise.all(["one", "two"].map((text) => writer.write({ threadId: thread.id, sender: { id: alice.id, username: alice.username }, text, clientId: null }))),
    );
    expect(results).not.toBe("timed out");
    expect((results as { message: { text: string } }[]).map((r) => r.message.text)).toEqual(["one", "two"]);
    expect(await timeout(writer.drain())).toBeUndefined();
    expect(logged.map((e) => (e as Error).message)).toContain("a listener broke");
    // Stored, as answered.
    const history = await api(server, alice, "GET", `/api/v1/threads/${thread.id}/messages`);
    expect(history.body.messages.map((m: { text: string }) => m.text)).toEqual(["one", "two"]);
  }, 30_000);
});
