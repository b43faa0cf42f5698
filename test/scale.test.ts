// Scale-out: several instances on one PostgreSQL and one Redis, behind Caddy; instances and
// Redis going away in the middle of traffic. Needs DATABASE_URL and REDIS_URL (embedded mode
// is one process by design), and Caddy for the tests through it.
import { afterAll, describe, expect, test } from "bun:test";
import { embedded, startServer, withRedis, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread, type Person } from "./helpers/client.ts";
import { SseClient } from "./helpers/sse.ts";
import { haveCaddy, spawnInstance, startCaddy, startRedis, type Instance } from "./helpers/cluster.ts";
import { conversationUnderLoad } from "./helpers/follower.ts";

const multi = !embedded && withRedis;
if (!multi) console.warn("scale-out tests skipped: they need DATABASE_URL and REDIS_URL");
if (multi && !haveCaddy && !process.env.CI) console.warn("tests through Caddy skipped: no /usr/bin/caddy (apt-get install -y caddy)");
const throughCaddy = multi && (haveCaddy || !!process.env.CI);

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}, 30_000);

/** The seqs must be exactly `expected`: each once, in order. */
function exactlyOnceInOrder(seqs: number[], expected: number[]): void {
  expect(seqs.length).toBe(new Set(seqs).size);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(seqs).toEqual(expected);
}

describe.skipIf(!multi)("two instances, one PostgreSQL, one Redis", () => {
  test("alice on A and bob on B: both directions deliver once, in order, over WebSocket and SSE", async () => {
    const a = await startServer();
    const b = await startServer();
    cleanups.push(a.stop, b.stop);
    const [alice, bob] = await Promise.all([signup(a, "alice"), signup(b, "bob")]);
    const { thread } = await startThread(a, alice, bob);
    const aliceWs = await SocketClient.open(a, alice);
    await aliceWs.subscribe(thread.id);
    const bobWs = await SocketClient.open(b, bob);
    await bobWs.subscribe(thread.id);
    const bobSse = await SseClient.open(b, bob, `/api/v1/threads/${thread.id}/events`);
    await bobSse.next((e) => e.event === "subscribed");

    for (let i = 0; i < 20; i++) {
      if (i % 2 === 0) aliceWs.send({ type: "send", threadId: thread.id, text: `a${i}`, clientId: `a${i}` });
      else await api(b, bob, "POST", `/api/v1/threads/${thread.id}/messages`, { text: `b${i}` });
    }
    await aliceWs.until((f) => f.filter((x) => x.type === "ack").length === 10);
    for (const s of [aliceWs, bobWs]) await s.until(() => s.messagesOf(thread.id).length === 20, 10_000);
    await bobSse.until((e) => e.filter((x) => x.event === "message").length === 20, 10_000);
    exactlyOnceInOrder(aliceWs.messagesOf(thread.id).map((f) => f.message.seq), range(1, 20));
    exactlyOnceInOrder(bobWs.messagesOf(thread.id).map((f) => f.message.seq), range(1, 20));
    exactlyOnceInOrder(bobSse.messages().map((m) => m.seq), range(1, 20));
    expect(bobWs.messagesOf(thread.id).map((f) => f.message.text)).toEqual(aliceWs.messagesOf(thread.id).map((f) => f.message.text));
    // Counters and sessions are shared: B reads what A counted, and each accepts the other's token.
    expect((await api(b, alice, "GET", `/api/v1/threads/${thread.id}`)).body.thread).toMatchObject({ total: 20, sent: 10, received: 10 });
    // One entry per topic per instance, however many local listeners.
    expect(b.running.core.fanout.topicCount()).toBe(2); // the thread and the control topic
    for (const s of [aliceWs, bobWs]) s.close();
    bobSse.close();
    await Bun.sleep(100);
    expect(b.running.core.fanout.topicCount()).toBe(1);
  }, 60_000);

  test("a group spread over A and B: each member's feed, wherever it is open, hears of each message once", async () => {
    const a = await startServer();
    const b = await startServer();
    cleanups.push(a.stop, b.stop);
    const people = await Promise.all(range(1, 6).map((i) => signup(i % 2 ? a : b, `grp${i}`)));
    const created = await api(a, people[0]!, "POST", "/api/v1/threads", { participants: people.slice(1).map((p) => p.username), title: "spread" });
    expect(created.status).toBe(201);
    const threadId: number = created.body.thread.id;
    // Everyone follows their own feed, on the instance they signed up on; the first also in a
    // second tab on the other instance.
    const feeds = await Promise.all(
      [...people.map((p, i) => [p, i % 2 ? b : a] as const), [people[0]!, b] as const].map(async ([person, server]) => {
        const ws = await SocketClient.open(server, person);
        ws.send({ type: "subscribe", feed: "me" });
        await ws.next((f) => f.type === "subscribed" && f.feed === "me");
        return { person, ws };
      }),
    );
    for (let i = 0; i < 12; i++) {
      const from = people[i % people.length]!;
      const res = await api(i % 2 ? b : a, from, "POST", `/api/v1/threads/${threadId}/messages`, { text: `spread ${i}` });
      expect(res.status).toBe(201);
    }
    const heard = (ws: SocketClient) =>
      ws.frames.filter((f) => f.type === "feed" && f.change === "message" && f.thread.id === threadId).map((f) => f.message.text);
    for (const { ws } of feeds) await ws.until(() => heard(ws).length >= 12, 10_000);
    await Bun.sleep(200); // a repeat would arrive by now
    for (const { ws } of feeds) {
      expect(heard(ws)).toEqual(range(0, 11).map((i) => `spread ${i}`));
      ws.close();
    }
  }, 60_000);

  test("Redis restarted empty in the middle of traffic: delivery resumes by itself, nothing acknowledged is lost, counters are right", async () => {
    const redis = await startRedis();
    cleanups.push(redis.stop);
    const env = { REDIS_URL: redis.url };
    const a = await startServer({ env });
    const b = await startServer({ env });
    cleanups.push(a.stop, b.stop);
    const [alice, bob] = await Promise.all([signup(a, "alice"), signup(b, "bob")]);
    const { thread } = await startThread(a, alice, bob);
    const sender = await SocketClient.open(a, alice);
    const watcher = await SocketClient.open(b, bob);
    await watcher.subscribe(thread.id);
    const acked: number[] = [];
    const send = async (text: string) => {
      sender.send({ type: "send", threadId: thread.id, text, clientId: text });
      const reply = await sender.next((f) => (f.type === "ack" || f.type === "error") && f.clientId === text, 10_000);
      if (reply.type === "ack") acked.push(reply.message.seq);
      return reply;
    };
    for (let i = 0; i < 5; i++) await send(`before-${i}`);

    await redis.kill();
    await Bun.sleep(300);
    expect((await api(a, null, "GET", "/healthz")).status).toBe(503);
    expect((await api(a, null, "GET", "/healthz")).body.redis.status).toBe("down");
    // The open socket's session was checked when it opened: sends are stored and acknowledged,
    // though B cannot hear of them now.
    for (let i = 0; i < 5; i++) expect((await send(`during-${i}`)).type).toBe("ack");
    // New requests need a session, and sessions live in Redis: refused, clearly.
    const refused = await api(a, bob, "GET", "/api/v1/me"); // not in A's session cache
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("unavailable");

    await redis.restart();
    // Both instances reconnect by themselves (ioredis retries; the bus resubscribes and resyncs).
    const deadline = Date.now() + 15_000;
    const healthy = async () => (await api(a, null, "GET", "/healthz")).status === 200 && (await api(b, null, "GET", "/healthz")).status === 200;
    while (!(await healthy()) && Date.now() < deadline) await Bun.sleep(200);
    expect(await healthy()).toBe(true);
    // What A published while the link was down reaches B's watcher after B resynced.
    await watcher.until(() => watcher.messagesOf(thread.id).length >= 10, 15_000);
    for (let i = 0; i < 5; i++) await send(`after-${i}`);
    await watcher.until(() => watcher.messagesOf(thread.id).length >= 15, 10_000);
    exactlyOnceInOrder(watcher.messagesOf(thread.id).map((f) => f.message.seq), acked);
    expect(acked).toEqual(range(1, 15));

    // Redis came back empty: sessions are gone (sign in again), counters are rebuilt.
    expect((await api(b, bob, "GET", "/api/v1/me")).status).toBe(401);
    const again = await api(b, null, "POST", "/api/v1/login", { username: bob.username, password: bob.password });
    const bob2: Person = { ...bob, token: again.body.token };
    expect((await api(b, bob2, "GET", `/api/v1/threads/${thread.id}`)).body.thread).toMatchObject({ total: 15, sent: 0, received: 15, unread: 15 });
    sender.close();
    watcher.close();
  }, 90_000);
});

/** As the systemd unit runs them: a stop first drains for longer than Caddy's 2 s check. */
const DRAINING = { DRAIN_SECONDS: "2.5" };

describe.skipIf(!throughCaddy)("behind Caddy", () => {
  test("an instance stopped during traffic: its clients reconnect through Caddy to the other and resume; then a rolling restart of both; every acknowledged message arrives exactly once", async () => {
    let a: Instance = await spawnInstance({ name: "A", env: DRAINING });
    let b: Instance = await spawnInstance({ name: "B", env: DRAINING });
    const caddy = await startCaddy([a.port, b.port]);
    cleanups.push(() => a.stop("SIGKILL"), () => b.stop("SIGKILL"), caddy.stop);
    const front = { url: caddy.url, origin: caddy.origin, wsUrl: "", dataDir: null } as unknown as TestServer;
    const [alice, bob, carol] = await Promise.all([signup(front, "alice"), signup(front, "bob"), signup(front, "carol")]);
    const { thread } = await startThread(front, alice, bob);

    // Traffic for as long as the restarts take.
    const { followers, senders } = conversationUnderLoad(caddy.url, alice, bob, thread.id, 15);
    expect(carol.id).toBeGreaterThan(0);

    const stops: { code: number | null; ms: number }[] = [];
    await Bun.sleep(800);
    stops.push(await a.stop()); // graceful: 1012 to its sockets, in-flight sends finish
    await Bun.sleep(1500);
    a = await spawnInstance({ name: "A2", port: a.port, env: DRAINING });
    await Bun.sleep(2500); // Caddy's active check (every 2 s) sees it back
    // Rolling restart: one, then the other.
    stops.push(await b.stop());
    b = await spawnInstance({ name: "B2", port: b.port, env: DRAINING });
    await Bun.sleep(2500);
    stops.push(await a.stop());
    a = await spawnInstance({ name: "A3", port: a.port, env: DRAINING });

    await Bun.sleep(1500);
    for (const s of senders) s.stop();
    await Promise.all(senders.map((s) => s.done));
    const acked = senders.flatMap((s) => s.acked).sort((x, y) => x - y);
    // Everything stored (acknowledged, or stored just as the senders stopped) reaches everyone.
    const stored = (await api(front, alice, "GET", `/api/v1/threads/${thread.id}`)).body.thread.lastSeq as number;
    if (acked.length < 100) console.warn("sends acknowledged:", acked.length, "failures by status:", senders.map((x) => [...x.failures]), caddy.output().split("\n").filter((l) => /"error"/.test(l)).slice(0, 3).join("\n"));
    expect(acked.length).toBeGreaterThan(20);
    // Drained first, no instance went away under a request: not one send had to be retried.
    expect(senders.map((x) => Object.fromEntries(x.failures))).toEqual([{}, {}]);
    expect(acked.every((seq) => seq <= stored)).toBe(true);
    expect(new Set(acked).size).toBe(acked.length);
    for (const f of followers) await f.waitFor(range(1, stored), 30_000);
    for (const f of followers) f.stop();
    for (const f of followers) exactlyOnceInOrder(f.seqs, range(1, stored));
    // Wherever Caddy placed it, every follower was on one of the last two instances stopped.
    expect(followers.map((f) => f.reconnects >= 2)).toEqual([true, true, true]);
    // Each graceful stop exited cleanly, well within 10 s.
    for (const stop of stops) {
      expect(stop.code).toBe(0);
      expect(stop.ms).toBeLessThan(10_000);
    }
  }, 120_000);
});
