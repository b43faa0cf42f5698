// What survives: counters when their cache is wiped, history and sessions across a restart,
// migrations run twice, what /healthz says when a backend is gone, and a send whose answer
// from the database was lost after it committed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { rmSync } from "node:fs";
import { startServer, embedded, withRedis, freshDataDir, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread } from "./helpers/client.ts";
import { forward } from "./helpers/forwarder.ts";
import { migrate } from "../src/db/migrate.ts";
import { schema } from "../src/db/queries.ts";
import { redisNames } from "../src/realtime/topics.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

describe("counters", () => {
  test("are right after their cache is deleted, and follow concurrent sends from both sides", async () => {
    const [alice, bob] = await Promise.all([signup(server, "alice"), signup(server, "bob")]);
    const { thread } = await startThread(server, alice, bob, "first");
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        api(server, i % 4 === 0 ? bob : alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: `c${i}` }),
      ),
    );
    const expected = { lastSeq: 41, total: 41, sent: 31, received: 10 };
    expect((await api(server, alice, "GET", `/api/v1/threads/${thread.id}`)).body.thread).toMatchObject(expected);

    // Wipe the cache: the Redis hash (as a Redis restart or eviction would), or the in-process copy.
    const { core } = server.running;
    if (withRedis) {
      const redis = new Redis(process.env.REDIS_URL!);
      const [installation] = await schema.installation(core.db);
      const key = redisNames(installation!.id).counters(thread.id);
      expect(await redis.exists(key)).toBe(1);
      await redis.del(key);
      await redis.quit();
    } else {
      await core.counters.clear(thread.id);
    }
    expect((await api(server, alice, "GET", `/api/v1/threads/${thread.id}`)).body.thread).toMatchObject(expected);
    expect((await api(server, bob, "GET", "/api/v1/threads")).body.threads[0]).toMatchObject({ total: 41, sent: 10, received: 31 });
    await api(server, bob, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "after the wipe" });
    expect((await api(server, alice, "GET", `/api/v1/threads/${thread.id}`)).body.thread).toMatchObject({ total: 42, sent: 31, received: 11 });
  });
});

describe("a restart", () => {
  test("keeps history and sessions, and the restarted server delivers live again", async () => {
    const dataDir = embedded ? freshDataDir() : undefined;
    let first: TestServer | null = await startServer({ dataDir });
    const [alice, bob] = await Promise.all([signup(first, "alice"), signup(first, "bob")]);
    const { thread } = await startThread(first, alice, bob, "before the restart");
    await api(first, bob, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "me too" });
    const bobSocket = await SocketClient.open(first, bob);
    await bobSocket.subscribe(thread.id);
    await first.stop();
    // The socket was told to reconnect: 1012, "service restart".
    expect((await bobSocket.closed).code).toBe(1012);
    first = null;

    const second = await startServer({ dataDir });
    try {
      expect((await api(second, alice, "GET", "/api/v1/me")).body.user.username).toBe(alice.username);
      const history = await api(second, bob, "GET", `/api/v1/threads/${thread.id}/messages`);
      expect(history.body.messages.map((m: { text: string }) => m.text)).toEqual(["before the restart", "me too"]);
      expect((await api(second, alice, "GET", `/api/v1/threads/${thread.id}`)).body.thread).toMatchObject({ total: 2, sent: 1, received: 1 });
      const again = await SocketClient.open(second, bob);
      const { replay } = await again.subscribe(thread.id, 1);
      expect(replay.map((f) => f.message.text)).toEqual(["me too"]);
      await api(second, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "after" });
      expect((await again.next((f) => f.type === "message")).message).toMatchObject({ seq: 3, text: "after" });
      again.close();
    } finally {
      await second.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("migrations", () => {
  test("running them again changes nothing", async () => {
    const { db } = server.running.core;
    const before = await schema.installation(db);
    expect(await migrate(db)).toBe(0);
    expect(await Promise.all([migrate(db), migrate(db)])).toEqual([0, 0]);
    expect(await schema.installation(db)).toEqual(before);
  });
});

describe("/healthz", () => {
  test("is 200 ok while the backends answer, and 503 naming the database when it is gone", async () => {
    const res = await api(server, null, "GET", "/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "ok", database: { status: "ok" }, redis: { status: withRedis ? "ok" : "not configured" } });

    const doomed = await startServer();
    await doomed.running.core.db.close();
    const down = await api(doomed, null, "GET", "/healthz");
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: "unavailable", database: { status: "down" } });
    await doomed.running.app.server?.stop(true);
    if (doomed.dataDir) rmSync(doomed.dataDir, { recursive: true, force: true });
  });
});

describe("an answer lost after the commit", () => {
  // The send's statement ran and committed, and the connection dropped before its answer came
  // back: the sender must not be told it failed while the message is stored and shown to others.
  test.skipIf(embedded)("a send with a clientId is acknowledged once, stored once and delivered live once; one without hears it failed", async () => {
    const pgUrl = new URL(process.env.PARLEY_TEST_DATABASE_URL!);
    const link = await forward(Number(pgUrl.port || 5432));
    pgUrl.hostname = "127.0.0.1";
    pgUrl.port = String(link.port);
    const lossy = await startServer({ env: { DATABASE_URL: pgUrl.toString() } });
    try {
      const [alice, bob] = await Promise.all([signup(lossy, "alice"), signup(lossy, "bob")]);
      const { thread } = await startThread(lossy, alice, bob, "hello");
      const bobWs = await SocketClient.open(lossy, bob);
      await bobWs.subscribe(thread.id);

      // The answer to the send that stores "kept" is lost ("insert" is its fate in the answer).
      const lost = link.loseAnswer("insert");
      const res = await api(lossy, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "kept", clientId: "k-1" });
      await lost;
      expect(res.status === 200 || res.status === 201).toBe(true);
      expect(res.body.message).toMatchObject({ seq: 2, text: "kept", clientId: "k-1" });
      await bobWs.until(() => bobWs.messagesOf(thread.id).length === 1);
      // Sent again by a client that was not sure: still the one message.
      const again = await api(lossy, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "kept", clientId: "k-1" });
      expect(again.body.message).toMatchObject({ seq: 2 });

      // Without a clientId there is no telling it from a new send: it is reported as failed.
      const lostAgain = link.loseAnswer("insert");
      const bare = await api(lossy, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "unsure" });
      await lostAgain;
      expect({ status: bare.status, code: bare.body.error?.code }).toEqual({ status: 503, code: "unavailable" });

      const history = await api(lossy, bob, "GET", `/api/v1/threads/${thread.id}/messages`);
      expect(history.body.messages.filter((m: { text: string }) => m.text === "kept")).toHaveLength(1);
      await Bun.sleep(100);
      expect(bobWs.messagesOf(thread.id).map((f) => f.message.text)).toEqual(["kept"]);
      bobWs.close();
    } finally {
      await lossy.stop();
      link.stop();
    }
  });
});
