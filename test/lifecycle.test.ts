// A connection's life: what ends it (logout), the order of its frames, subscriptions that come
// and go, replays too big for its buffer, and resumes while the fan-out is still sorting.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread, type Person } from "./helpers/client.ts";
import { SseClient } from "./helpers/sse.ts";
import { MessageWriter } from "../src/chat/writer.ts";
import { topics } from "../src/realtime/topics.ts";

let server: TestServer;
let alice: Person, bob: Person;
let threadId: number;

beforeAll(async () => {
  server = await startServer();
});
beforeEach(async () => {
  [alice, bob] = await Promise.all([signup(server, "alice"), signup(server, "bob")]);
  threadId = (await startThread(server, alice, bob)).thread.id;
});
afterAll(() => server.stop());

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("logging out", () => {
  test("closes that session's sockets (4401) and ends its streams; other sessions stay", async () => {
    const login = await api(server, null, "POST", "/api/v1/login", { username: bob.username, password: bob.password });
    const otherSession = { ...bob, token: login.body.token as string };
    const doomed = await SocketClient.open(server, bob);
    await doomed.subscribe(threadId);
    const stream = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events`);
    await stream.next((e) => e.event === "subscribed");
    const survivor = await SocketClient.open(server, otherSession);
    await survivor.subscribe(threadId);

    expect((await api(server, bob, "POST", "/api/v1/logout")).status).toBe(204);
    expect((await doomed.closed).code).toBe(4401);
    await stream.until(() => stream.ended, 5000);

    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "after the logout" });
    expect((await survivor.next((f) => f.type === "message")).message.text).toBe("after the logout");
    survivor.close();
  });
});

describe("frames on one socket", () => {
  test("a subscribe and the unsubscribe right after it are taken in order", async () => {
    const { core } = server.running;
    const baseline = core.fanout.topicCount();
    const socket = await SocketClient.open(server, bob);
    socket.send({ type: "subscribe", threadId });
    socket.send({ type: "unsubscribe", threadId });
    socket.send({ type: "subscribe", threadId, after: 0 });
    socket.send({ type: "subscribe", threadId, after: 0 });
    await socket.until((frames) => frames.filter((f) => f.type === "subscribed").length === 3);
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "once" });
    await socket.until(() => socket.messagesOf(threadId).length > 0);
    expect(await socket.during(200, (f) => f.type === "message")).toEqual([]);
    expect(socket.messagesOf(threadId).map((f) => f.message.text)).toEqual(["once"]);
    expect(core.fanout.topicCount()).toBe(baseline + 1);
    socket.send({ type: "unsubscribe", threadId });
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "not for you" });
    expect(await socket.during(300, (f) => f.type === "message")).toEqual([]);
    socket.close();
    await socket.closed;
    await Bun.sleep(50);
    // Nothing held after the socket is gone.
    expect(core.fanout.topicCount()).toBe(baseline);
  });

  test("a WebSocket send repeated with the same clientId is stored once; 10,000 emoji fit in a frame", async () => {
    const socket = await SocketClient.open(server, alice);
    await socket.subscribe(threadId);
    const text = "🎉".repeat(10_000);
    for (let i = 0; i < 3; i++) socket.send({ type: "send", threadId, text, clientId: "same-one" });
    await socket.until((frames) => frames.filter((f) => f.type === "ack").length === 3);
    const acks = socket.frames.filter((f) => f.type === "ack");
    expect(new Set(acks.map((a) => a.message.id)).size).toBe(1);
    expect(acks[0]!.message.text).toBe(text);
    const stored = await api(server, bob, "GET", `/api/v1/threads/${threadId}/messages`);
    expect(stored.body.messages).toHaveLength(1);
    expect(await socket.during(200, (f) => f.type === "message")).toEqual([]);
    expect(socket.messagesOf(threadId)).toHaveLength(1);
    socket.close();
  });

  test("carol cannot read-mark or resume into a thread she is not in", async () => {
    const carol = await signup(server, "carol");
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "private" });
    const socket = await SocketClient.open(server, carol);
    socket.send({ type: "subscribe", threadId, after: 0 });
    expect(await socket.next((f) => f.type === "error")).toMatchObject({ code: "not_found", threadId });
    socket.send({ type: "read", threadId, seq: 1 });
    expect(await socket.next((f) => f.type === "error")).toMatchObject({ code: "not_found", threadId });
    expect(socket.messagesOf(threadId)).toEqual([]);
    expect((await api(server, bob, "GET", `/api/v1/threads/${threadId}`)).body.thread.unread).toBe(1);
    socket.close();
  });
});

describe("replays", () => {
  test("a replay too big for the socket's buffer stops with reset instead of being cut off", async () => {
    const text = "ж".repeat(10_000); // 20 KB each on the wire
    for (let i = 0; i < 60; i += 10) {
      await Promise.all(Array.from({ length: 10 }, () => api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text })));
    }
    const socket = await SocketClient.open(server, bob, { view: "html" });
    socket.send({ type: "subscribe", threadId, after: 0 });
    const reset = await socket.next((f) => f.type === "reset", 10_000);
    const got = socket.messagesOf(threadId).map((f) => f.seq);
    expect(got.length).toBeGreaterThan(10);
    expect(got.length).toBeLessThan(60);
    expect(got).toEqual(range(1, got.length));
    expect(reset.lastSeq).toBe(got.length);
    // The socket is still open: the client fetches the rest and follows on.
    const { replay } = await socket.subscribe(threadId, 55);
    expect(replay.map((f) => f.seq)).toEqual(range(56, 60));
    socket.close();
  }, 30_000);

  test("a resume while the fan-out still holds an early event repeats nothing", async () => {
    const { core } = server.running;
    const watcher = await SocketClient.open(server, alice);
    await watcher.subscribe(threadId);
    // Two messages stored but not yet published (their publishers are slow)…
    const silent = new MessageWriter(core.db, () => {});
    const sender = { id: alice.id, username: alice.username };
    const first = await silent.write({ threadId, sender, text: "one", clientId: null });
    const second = await silent.write({ threadId, sender, text: "two", clientId: null });
    // …the second arrives first, and is held for the first.
    core.fanout.receive(topics.thread(threadId), { type: "message", message: second.message });
    // bob resumes now: the database already has both.
    const bobSocket = await SocketClient.open(server, bob);
    const { replay } = await bobSocket.subscribe(threadId, 0);
    expect(replay.map((f) => f.message.seq)).toEqual([1, 2]);
    // The late first arrives; the held second follows it. bob must not see them again.
    core.fanout.receive(topics.thread(threadId), { type: "message", message: first.message });
    await watcher.until(() => watcher.messagesOf(threadId).length === 2);
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "three" });
    await bobSocket.until(() => bobSocket.messagesOf(threadId).some((f) => f.message.seq === 3));
    expect(await bobSocket.during(200, (f) => f.type === "message")).toEqual([]);
    expect(bobSocket.messagesOf(threadId).map((f) => f.message.seq)).toEqual([1, 2, 3]);
    expect(watcher.messagesOf(threadId).map((f) => f.message.seq)).toEqual([1, 2, 3]);
    watcher.close();
    bobSocket.close();
  });
});
