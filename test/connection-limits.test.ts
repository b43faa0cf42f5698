// The per-person limits on sockets and event streams hold when the connections all arrive at
// once, and a socket that sends frames faster than they are handled is cut off before it
// can make the server queue them without bound, while the same person's other sockets go on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread, type Person } from "./helpers/client.ts";
import { SseClient } from "./helpers/sse.ts";
import { RawSocket } from "./helpers/raw-socket.ts";
import { MAX_SOCKETS_PER_PERSON, MAX_STREAMS_PER_PERSON } from "../src/realtime/live.ts";
import { MAX_WAITING_FRAMES } from "../src/realtime/socket.ts";
import { blocks, threads } from "../src/db/queries.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

async function pair(): Promise<[Person, Person, number]> {
  const [alice, bob] = await Promise.all([signup(server, "alice"), signup(server, "bob")]);
  return [alice, bob, (await startThread(server, alice, bob)).thread.id];
}

/** Opens a socket by hand; the status line of the refusal if the upgrade is refused. */
async function tryUpgrade(who: Person): Promise<RawSocket | string> {
  try {
    return await RawSocket.open(server.running.port, { authorization: `Bearer ${who.token}`, origin: server.origin });
  } catch (err) {
    return (err as Error).message;
  }
}

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await Bun.sleep(10);
  expect(condition()).toBe(true);
}

describe("per-person limits, with every connection arriving at once", () => {
  // A database that takes a moment to answer, as a busy one does: the embedded one answers
  // without yielding, which would hide a check that is not held across the wait.
  const original = blocks.blockedIds;
  beforeAll(() => {
    (blocks as any).blockedIds = async (...args: Parameters<typeof original>) => {
      await Bun.sleep(20);
      return original(...args);
    };
  });
  afterAll(() => {
    (blocks as any).blockedIds = original;
  });

  test(`${MAX_SOCKETS_PER_PERSON + 10} upgrades at once with one token: exactly ${MAX_SOCKETS_PER_PERSON} open, the rest get 429; closing some makes room again`, async () => {
    const [alice] = await pair();
    const results = await Promise.all(Array.from({ length: MAX_SOCKETS_PER_PERSON + 10 }, () => tryUpgrade(alice)));
    const open = results.filter((r): r is RawSocket => typeof r !== "string");
    const refused = results.filter((r): r is string => typeof r === "string");
    try {
      expect(open.length).toBe(MAX_SOCKETS_PER_PERSON);
      expect(refused).toEqual(Array(10).fill("HTTP/1.1 429 Too Many Requests"));
      // Five go away: five new ones open, the sixth is refused again.
      for (const s of open.splice(0, 5)) s.destroy();
      await waitFor(() => server.running.core.live.countOf(alice.id, "ws") === MAX_SOCKETS_PER_PERSON - 5);
      const again = await Promise.all(Array.from({ length: 6 }, () => tryUpgrade(alice)));
      open.push(...again.filter((r): r is RawSocket => typeof r !== "string"));
      expect(again.filter((r) => typeof r === "string")).toEqual(["HTTP/1.1 429 Too Many Requests"]);
      expect(open.length).toBe(MAX_SOCKETS_PER_PERSON);
    } finally {
      for (const s of open) s.destroy();
    }
    // Nothing is left held once they are all gone: the full number opens again.
    await waitFor(() => server.running.core.live.countOf(alice.id, "ws") === 0);
    const last = await Promise.all(Array.from({ length: MAX_SOCKETS_PER_PERSON }, () => tryUpgrade(alice)));
    expect(last.filter((r) => typeof r === "string")).toEqual([]);
    for (const s of last) (s as RawSocket).destroy();
  }, 30_000);

  test(`${MAX_STREAMS_PER_PERSON + 10} event streams at once with one token: exactly ${MAX_STREAMS_PER_PERSON} open, the rest get 429 rate_limited; closing some makes room again`, async () => {
    const [alice, , threadId] = await pair();
    const open = (n: number, path: string) => Promise.all(Array.from({ length: n }, () => SseClient.open(server, alice, path)));
    const first = await open(MAX_STREAMS_PER_PERSON + 10, `/api/v1/threads/${threadId}/events`);
    const live = first.filter((s) => s.status === 200);
    try {
      expect(live.length).toBe(MAX_STREAMS_PER_PERSON);
      const refused = first.filter((s) => s.status !== 200);
      expect(refused.map((s) => s.status)).toEqual(Array(10).fill(429));
      for (const s of refused) expect(JSON.parse(s.body).error.code).toBe("rate_limited");
      for (const s of live.splice(0, 5)) s.close();
      await waitFor(() => server.running.core.live.countOf(alice.id, "sse") === MAX_STREAMS_PER_PERSON - 5);
      // The feed's streams count against the same limit.
      const again = await open(6, "/api/v1/events");
      live.push(...again.filter((s) => s.status === 200));
      expect(again.map((s) => s.status).sort()).toEqual([200, 200, 200, 200, 200, 429]);
    } finally {
      for (const s of live) s.close();
    }
    // A stream refused after its slot was taken (here: not a member) gives the slot back.
    await waitFor(() => server.running.core.live.countOf(alice.id, "sse") === 0);
    const carol = await signup(server, "carol");
    const other = (await startThread(server, carol, (await signup(server, "dan")))).thread.id;
    const strangers = await open(MAX_STREAMS_PER_PERSON + 5, `/api/v1/threads/${other}/events`);
    // (Those arriving while the others wait on the database find every place taken: 429.)
    expect(strangers.filter((s) => s.status === 404).length).toBeGreaterThanOrEqual(MAX_STREAMS_PER_PERSON);
    expect(strangers.every((s) => s.status === 404 || s.status === 429)).toBe(true);
    const after = await open(MAX_STREAMS_PER_PERSON, `/api/v1/threads/${threadId}/events`);
    expect(after.every((s) => s.status === 200)).toBe(true);
    for (const s of after) s.close();
  }, 30_000);
});

describe("frames waiting to be handled", () => {
  // Moving a read marker takes a database round trip; the embedded database answers without
  // yielding, so it is made to take a moment, as PostgreSQL's does over the network.
  const original = threads.markRead;
  beforeAll(() => {
    (threads as any).markRead = async (...args: Parameters<typeof original>) => {
      await Bun.sleep(2);
      return original(...args);
    };
  });
  afterAll(() => {
    (threads as any).markRead = original;
  });

  test(`a socket that floods frames is closed with 1008 past ${MAX_WAITING_FRAMES} waiting; the same person's other socket keeps working`, async () => {
    const [alice, bob, threadId] = await pair();
    const good = await SocketClient.open(server, alice);
    await good.subscribe(threadId);
    const flood = await SocketClient.open(server, alice);
    // Each of these waits for the database (a read marker), so they pile up behind each other.
    for (let i = 0; i < MAX_WAITING_FRAMES * 8; i++) flood.send({ type: "read", threadId, seq: 0 });
    const closed = await Promise.race([flood.closed, Bun.sleep(10_000).then(() => null)]);
    expect(closed?.code).toBe(1008);
    // The well-behaved socket was never held up, and is still live.
    good.send({ type: "ping", id: "still here" });
    expect((await good.next((f) => f.type === "pong")).id).toBe("still here");
    await api(server, bob, "POST", `/api/v1/threads/${threadId}/messages`, { text: "after the flood" });
    expect((await good.next((f) => f.type === "message")).message.text).toBe("after the flood");
    good.close();
  }, 30_000);

  test("big frames count by their size too: a flood of 60 KiB frames is closed with 1008", async () => {
    const [alice, , threadId] = await pair();
    const flood = await SocketClient.open(server, alice);
    const pad = "x".repeat(60 * 1024);
    for (let i = 0; i < 100; i++) flood.send({ type: "read", threadId, seq: 0, pad });
    const closed = await Promise.race([flood.closed, Bun.sleep(10_000).then(() => null)]);
    expect(closed?.code).toBe(1008);
  }, 30_000);

  test("a client resubscribing to everything at once (a hundred subscribes and pings in one burst) is answered, not cut off", async () => {
    const [alice, , threadId] = await pair();
    const socket = await SocketClient.open(server, alice);
    for (let i = 0; i < 100; i++) {
      socket.send({ type: "subscribe", threadId, after: 0 });
      socket.send({ type: "ping", id: i });
    }
    await socket.until((f) => f.filter((x) => x.type === "pong").length === 100, 20_000);
    expect(socket.frames.filter((f) => f.type === "subscribed").length).toBe(100);
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    socket.close();
  }, 30_000);
});
