// alice writes to bob by username; what each of them (and carol, who is not in it) sees.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread, type Person } from "./helpers/client.ts";

let server: TestServer;
// A 1:1 thread is one per pair, so each test meets a new alice, bob and carol.
let alice: Person, bob: Person, carol: Person;

beforeAll(async () => {
  server = await startServer();
});
beforeEach(async () => {
  [alice, bob, carol] = await Promise.all([signup(server, "alice"), signup(server, "bob"), signup(server, "carol")]);
});
afterAll(() => server.stop());

async function storedTexts(who: Person, threadId: number): Promise<string[]> {
  const res = await api(server, who, "GET", `/api/v1/threads/${threadId}/messages?limit=200`);
  expect(res.status).toBe(200);
  return res.body.messages.map((m: { text: string }) => m.text);
}

describe("a message from alice to bob", () => {
  test("arrives on bob's open socket once, with the right text, sender and seq", async () => {
    const { thread } = await startThread(server, alice, bob);
    const bobSocket = await SocketClient.open(server, bob);
    const { lastSeq } = await bobSocket.subscribe(thread.id);
    expect(lastSeq).toBe(0);

    const sent = await api(server, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "hi bob ✓", clientId: "a-1" });
    expect(sent.status).toBe(201);
    expect(sent.body.message).toMatchObject({ threadId: thread.id, seq: 1, text: "hi bob ✓", clientId: "a-1", sender: { id: alice.id, username: alice.username } });
    expect(new Date(sent.body.message.createdAt).toISOString()).toBe(sent.body.message.createdAt);

    const got = await bobSocket.next((f) => f.type === "message");
    expect(got.message).toEqual(sent.body.message);
    // Once: nothing else arrives for this thread.
    expect(await bobSocket.during(300, (f) => f.type === "message")).toEqual([]);
    expect(bobSocket.messagesOf(thread.id)).toHaveLength(1);
    bobSocket.close();
  });

  test("starting a conversation by username reuses the one that exists, from either side", async () => {
    const dave = await signup(server, "dave");
    const first = await api(server, alice, "POST", "/api/v1/threads", { participants: [dave.username] });
    expect(first.status).toBe(201);
    const again = await api(server, alice, "POST", "/api/v1/threads", { participants: [dave.username.toUpperCase()] });
    expect(again.status).toBe(200);
    const fromDave = await api(server, dave, "POST", "/api/v1/threads", { participants: [alice.username], text: "hello back" });
    expect(fromDave.status).toBe(200);
    expect(again.body.thread.id).toBe(first.body.thread.id);
    expect(fromDave.body.thread.id).toBe(first.body.thread.id);
    expect(fromDave.body.message).toMatchObject({ seq: 1, text: "hello back" });
    expect(first.body.thread.participants.map((p: Person) => p.username).sort()).toEqual([alice.username, dave.username].sort());
  });

  test("a sender over WebSocket gets an ack, and every subscribed connection of both gets the message", async () => {
    const { thread } = await startThread(server, alice, bob);
    const aliceSocket = await SocketClient.open(server, alice);
    const aliceTab2 = await SocketClient.open(server, alice);
    const bobSocket = await SocketClient.open(server, bob);
    for (const s of [aliceSocket, aliceTab2, bobSocket]) await s.subscribe(thread.id);

    aliceSocket.send({ type: "send", threadId: thread.id, text: "over the socket", clientId: "ws-1" });
    const ack = await aliceSocket.next((f) => f.type === "ack");
    expect(ack.clientId).toBe("ws-1");
    expect(ack.message).toMatchObject({ seq: 1, text: "over the socket", sender: { id: alice.id } });
    for (const s of [aliceSocket, aliceTab2, bobSocket]) {
      await s.until(() => s.messagesOf(thread.id).length > 0);
      expect(s.messagesOf(thread.id).map((f) => f.message)).toEqual([ack.message]);
    }
    for (const s of [aliceSocket, aliceTab2, bobSocket]) s.close();
  });

  test("messages arrive in seq order, and resuming with `after` gives exactly the later ones", async () => {
    const { thread } = await startThread(server, alice, bob);
    for (let i = 1; i <= 12; i++) {
      const res = await api(server, i % 3 ? alice : bob, "POST", `/api/v1/threads/${thread.id}/messages`, { text: `m${i}` });
      expect(res.body.message.seq).toBe(i);
    }
    const bobSocket = await SocketClient.open(server, bob);
    const { replay, lastSeq } = await bobSocket.subscribe(thread.id, 7);
    expect(replay.map((f) => f.message.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(replay.map((f) => f.message.text)).toEqual(["m8", "m9", "m10", "m11", "m12"]);
    expect(lastSeq).toBe(12);
    // Live after the replay, no repeat of what was replayed.
    await api(server, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "m13" });
    const live = await bobSocket.next((f) => f.type === "message");
    expect(live.message).toMatchObject({ seq: 13, text: "m13" });
    expect(bobSocket.messagesOf(thread.id).map((f) => f.message.seq)).toEqual([8, 9, 10, 11, 12, 13]);

    const page = await api(server, bob, "GET", `/api/v1/threads/${thread.id}/messages?after=10`);
    expect(page.body.messages.map((m: { seq: number }) => m.seq)).toEqual([11, 12, 13]);
    const before = await api(server, bob, "GET", `/api/v1/threads/${thread.id}/messages?before=5&limit=2`);
    expect(before.body.messages.map((m: { seq: number }) => m.seq)).toEqual([3, 4]);
    bobSocket.close();
  });

  test("the same clientId from the same sender stores nothing new", async () => {
    const { thread } = await startThread(server, alice, bob);
    const first = await api(server, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "once", clientId: "dup-1" });
    const second = await api(server, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "once", clientId: "dup-1" });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.message).toEqual(first.body.message);
    // Several retries racing each other still make one row.
    const racing = await Promise.all(
      Array.from({ length: 5 }, () => api(server, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "race", clientId: "dup-2" })),
    );
    expect(new Set(racing.map((r) => r.body.message.id)).size).toBe(1);
    expect(racing.filter((r) => r.status === 201)).toHaveLength(1);
    // bob's clientId space is his own.
    const fromBob = await api(server, bob, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "mine", clientId: "dup-1" });
    expect(fromBob.status).toBe(201);
    expect(await storedTexts(bob, thread.id)).toEqual(["once", "race", "mine"]);
    const t = await api(server, alice, "GET", `/api/v1/threads/${thread.id}`);
    expect(t.body.thread).toMatchObject({ lastSeq: 3, total: 3, sent: 2, received: 1 });
  });
});

describe("carol, who is not in the thread", () => {
  test("gets 404 on the thread, its messages and a subscribe, and cannot send to it", async () => {
    const { thread } = await startThread(server, alice, bob, "private");
    const missing = 999_999_999;
    for (const id of [thread.id, missing]) {
      const t = await api(server, carol, "GET", `/api/v1/threads/${id}`);
      expect(t.status).toBe(404);
      expect(t.body).toEqual({ error: { code: "not_found", message: expect.any(String) } });
      expect((await api(server, carol, "GET", `/api/v1/threads/${id}/messages`)).status).toBe(404);
      expect((await api(server, carol, "POST", `/api/v1/threads/${id}/messages`, { text: "let me in" })).status).toBe(404);
      expect((await api(server, carol, "POST", `/api/v1/threads/${id}/read`, { seq: 1 })).status).toBe(404);
    }
    // The two 404s are indistinguishable.
    const a = await api(server, carol, "GET", `/api/v1/threads/${thread.id}`);
    const b = await api(server, carol, "GET", `/api/v1/threads/${missing}`);
    expect(a.body).toEqual(b.body);

    const carolSocket = await SocketClient.open(server, carol);
    carolSocket.send({ type: "subscribe", threadId: thread.id });
    expect(await carolSocket.next((f) => f.type === "error")).toMatchObject({ type: "error", code: "not_found", threadId: thread.id });
    carolSocket.send({ type: "send", threadId: thread.id, text: "sneaky", clientId: "c-1" });
    expect(await carolSocket.next((f) => f.type === "error")).toMatchObject({ code: "not_found", clientId: "c-1" });
    // Nothing carol did reached the thread, and she received none of its messages.
    await api(server, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "still private" });
    expect(await carolSocket.during(300, (f) => f.type === "message")).toEqual([]);
    expect(await storedTexts(alice, thread.id)).toEqual(["private", "still private"]);
    carolSocket.close();
    const list = await api(server, carol, "GET", "/api/v1/threads");
    expect(list.body.threads.map((t: { id: number }) => t.id)).not.toContain(thread.id);
  });

  test("without a session, the API says 401 unauthenticated", async () => {
    for (const [method, path] of [["GET", "/api/v1/me"], ["GET", "/api/v1/threads"], ["POST", "/api/v1/threads/1/messages"]] as const) {
      const res = await api(server, null, method, path, method === "POST" ? { text: "x" } : undefined);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthenticated");
    }
    const bad = await api(server, { ...alice, token: "nope.nope" }, "GET", "/api/v1/me");
    expect(bad.status).toBe(401);
  });
});

describe("the conversation list", () => {
  test("is most recent first, with counters and unread for each person", async () => {
    const erin = await signup(server, "erin");
    const frank = await signup(server, "frank");
    const gina = await signup(server, "gina");
    const withFrank = (await startThread(server, erin, frank, "to frank")).thread.id;
    const withGina = (await startThread(server, erin, gina, "to gina")).thread.id;
    await api(server, frank, "POST", `/api/v1/threads/${withFrank}/messages`, { text: "frank 1" });
    await api(server, frank, "POST", `/api/v1/threads/${withFrank}/messages`, { text: "frank 2" });

    const list = await api(server, erin, "GET", "/api/v1/threads");
    expect(list.body.threads.map((t: { id: number }) => t.id)).toEqual([withFrank, withGina]);
    expect(list.body.threads[0]).toMatchObject({ lastSeq: 3, total: 3, sent: 1, received: 2, unread: 2 });
    expect(list.body.threads[1]).toMatchObject({ lastSeq: 1, total: 1, sent: 1, received: 0, unread: 0 });
    // Writing in a conversation is reading it: frank has nothing unread until erin answers.
    const franks = await api(server, frank, "GET", "/api/v1/threads");
    expect(franks.body.threads[0]).toMatchObject({ id: withFrank, total: 3, sent: 2, received: 1, unread: 0 });

    expect((await api(server, erin, "POST", `/api/v1/threads/${withFrank}/read`, { seq: 2 })).status).toBe(204);
    expect((await api(server, erin, "GET", `/api/v1/threads/${withFrank}`)).body.thread.unread).toBe(1);
    await api(server, erin, "POST", `/api/v1/threads/${withFrank}/read`, { seq: 3 });
    expect((await api(server, erin, "GET", `/api/v1/threads/${withFrank}`)).body.thread.unread).toBe(0);
    // The marker never moves back, and never past the end.
    await api(server, erin, "POST", `/api/v1/threads/${withFrank}/read`, { seq: 1 });
    expect((await api(server, erin, "GET", `/api/v1/threads/${withFrank}`)).body.thread.unread).toBe(0);
    await api(server, erin, "POST", `/api/v1/threads/${withFrank}/read`, { seq: 1000 });
    await api(server, frank, "POST", `/api/v1/threads/${withFrank}/messages`, { text: "frank 3" });
    expect((await api(server, erin, "GET", `/api/v1/threads/${withFrank}`)).body.thread.unread).toBe(1);

    // gina's message moves that conversation to the top.
    await api(server, gina, "POST", `/api/v1/threads/${withGina}/messages`, { text: "gina here" });
    const after = await api(server, erin, "GET", "/api/v1/threads");
    expect(after.body.threads.map((t: { id: number }) => t.id)).toEqual([withGina, withFrank]);
  });
});
