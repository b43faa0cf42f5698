// Unread counts and read receipts, typing, presence, blocking and message requests: as the
// people involved would try them, through the API, the socket and the event streams.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { embedded, startServer, withRedis, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread, type Person } from "./helpers/client.ts";
import { SseClient } from "./helpers/sse.ts";
import { schema } from "../src/db/queries.ts";
import { redisNames } from "../src/realtime/topics.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

/** Two people who have talked: bob answered alice, so nothing is a request. */
async function friends(s: TestServer = server): Promise<[Person, Person, number]> {
  const [alice, bob] = await Promise.all([signup(s, "alice"), signup(s, "bob")]);
  const { thread } = await startThread(s, alice, bob, "hello");
  await api(s, bob, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "hi" });
  return [alice, bob, thread.id];
}

async function feedSocket(s: TestServer, who: Person): Promise<SocketClient> {
  const socket = await SocketClient.open(s, who);
  socket.send({ type: "subscribe", feed: "me" });
  await socket.next((f) => f.type === "subscribed" && f.feed === "me");
  return socket;
}

describe("unread and read receipts", () => {
  test("reading in one tab clears the count in the other, live; the writer sees 'seen'", async () => {
    const [alice, bob, threadId] = await friends();
    for (const text of ["one", "two", "three"]) await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text });
    expect((await api(server, bob, "GET", `/api/v1/threads/${threadId}`)).body.thread.unread).toBe(3);
    const tab1 = await SocketClient.open(server, bob);
    const tab2 = await feedSocket(server, bob);
    const aliceSocket = await SocketClient.open(server, alice);
    await aliceSocket.subscribe(threadId);
    tab1.send({ type: "read", threadId, seq: 4 });
    const cleared = await tab2.next((f) => f.type === "feed" && f.change === "read");
    expect(cleared).toMatchObject({ thread: { id: threadId }, readSeq: 4, unread: 1 });
    tab1.send({ type: "read", threadId, seq: 5 });
    expect(await tab2.next((f) => f.type === "feed" && f.change === "read")).toMatchObject({ readSeq: 5, unread: 0 });
    const receipt = await aliceSocket.next((f) => f.type === "receipt" && f.readSeq === 5);
    expect(receipt).toMatchObject({ threadId, userId: bob.id });
    expect((await api(server, alice, "GET", `/api/v1/threads/${threadId}/receipts`)).body.readSeq).toBe(5);
    // Reading again changes nothing and says nothing.
    tab1.send({ type: "read", threadId, seq: 5 });
    expect(await tab2.during(300, (f) => f.type === "feed" && f.change === "read")).toEqual([]);
    for (const s of [tab1, tab2, aliceSocket]) s.close();
  });

  test("receipts off: bob's reads are not shown, and bob sees no one's", async () => {
    const [alice, bob, threadId] = await friends();
    expect((await api(server, bob, "PATCH", "/api/v1/settings", { readReceipts: false })).body.settings).toEqual({ readReceipts: false, showPresence: true });
    const aliceSocket = await SocketClient.open(server, alice);
    await aliceSocket.subscribe(threadId);
    await api(server, bob, "POST", `/api/v1/threads/${threadId}/read`, { seq: 2 });
    expect(await aliceSocket.during(300, (f) => f.type === "receipt")).toEqual([]);
    expect((await api(server, alice, "GET", `/api/v1/threads/${threadId}/receipts`)).body.readSeq).toBeNull();
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/read`, { seq: 2 });
    expect((await api(server, bob, "GET", `/api/v1/threads/${threadId}/receipts`)).body.readSeq).toBeNull();
    expect((await api(server, bob, "PATCH", "/api/v1/settings", { readReceipts: "no" })).status).toBe(400);
    aliceSocket.close();
  });

  test.skipIf(embedded || !withRedis)("across two instances: a read on A clears the count on B, and survives Redis being flushed", async () => {
    const other = await startServer();
    try {
      const [alice, bob, threadId] = await friends();
      await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "unread one" });
      const onB = await feedSocket(other, bob);
      await api(server, bob, "POST", `/api/v1/threads/${threadId}/read`, { seq: 3 });
      expect(await onB.next((f) => f.type === "feed" && f.change === "read")).toMatchObject({ readSeq: 3, unread: 0 });
      await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "another" });
      // Wipe this run's counters in Redis: unread and counts come from PostgreSQL regardless.
      const redis = new Redis(process.env.REDIS_URL!);
      const [installation] = await schema.installation(server.running.core.db);
      await redis.del(redisNames(installation!.id).counters(threadId));
      await redis.quit();
      expect((await api(other, bob, "GET", `/api/v1/threads/${threadId}`)).body.thread).toMatchObject({ unread: 1, total: 4, received: 3, sent: 1 });
      onB.close();
    } finally {
      await other.stop();
    }
  });
});

describe("typing", () => {
  test("reaches the others in the thread, at most every 2 s per person, and is never stored", async () => {
    const [alice, bob, threadId] = await friends();
    const aliceSocket = await SocketClient.open(server, alice);
    const bobSocket = await SocketClient.open(server, bob);
    await aliceSocket.subscribe(threadId);
    await bobSocket.subscribe(threadId);
    bobSocket.send({ type: "typing", threadId });
    bobSocket.send({ type: "typing", threadId });
    expect(await aliceSocket.next((f) => f.type === "typing")).toMatchObject({ threadId, user: { id: bob.id, username: bob.username } });
    expect(await aliceSocket.during(400, (f) => f.type === "typing")).toEqual([]);
    // Only into a thread the connection follows.
    const carol = await signup(server, "carol");
    const carolSocket = await SocketClient.open(server, carol);
    carolSocket.send({ type: "typing", threadId });
    expect(await carolSocket.next((f) => f.type === "error")).toMatchObject({ code: "bad_request" });
    expect((await api(server, carol, "POST", `/api/v1/threads/${threadId}/typing`)).status).toBe(404);
    expect(await aliceSocket.during(300, (f) => f.type === "typing")).toEqual([]);
    const stored = await api(server, alice, "GET", `/api/v1/threads/${threadId}/messages`);
    expect(stored.body.messages).toHaveLength(2);
    // Over SSE too, as a named event.
    const stream = await SseClient.open(server, alice, `/api/v1/threads/${threadId}/events`);
    await stream.next((e) => e.event === "subscribed");
    await Bun.sleep(2100);
    expect((await api(server, bob, "POST", `/api/v1/threads/${threadId}/typing`)).status).toBe(204);
    expect((await stream.next((e) => e.event === "typing")).json).toMatchObject({ user: { id: bob.id } });
    for (const s of [aliceSocket, bobSocket, carolSocket]) s.close();
    stream.close();
  });
});

describe("presence", () => {
  test("contacts see someone come online and go, with when they were last seen; hiding it hides it", async () => {
    const [alice, bob, threadId] = await friends();
    const watch = await feedSocket(server, alice);
    const bobSocket = await SocketClient.open(server, bob);
    const online = await watch.next((f) => f.type === "feed" && f.change === "presence" && f.userId === bob.id);
    expect(online).toMatchObject({ online: true });
    const now = await api(server, alice, "GET", `/api/v1/threads/${threadId}/presence`);
    expect(now.body.presence).toEqual([{ userId: bob.id, online: true, lastSeen: expect.any(String) }]);
    bobSocket.close();
    // Gone after a short grace (moving between pages is not leaving).
    const offline = await watch.next((f) => f.type === "feed" && f.change === "presence" && f.userId === bob.id, 12_000);
    expect(offline.online).toBe(false);
    expect(Date.now() - Date.parse(offline.lastSeen)).toBeLessThan(10_000);
    // A stranger sees nothing of bob's presence.
    const stranger = await signup(server, "stranger");
    expect((await api(server, stranger, "GET", `/api/v1/users/${bob.username}`)).body.presence).toBeNull();
    // bob hides it: contacts are told he is gone (with no time), and see nothing from then on.
    await api(server, bob, "PATCH", "/api/v1/settings", { showPresence: false });
    const hidden = await watch.next((f) => f.type === "feed" && f.change === "presence" && f.userId === bob.id);
    expect(hidden).toMatchObject({ online: false, lastSeen: null });
    const again = await SocketClient.open(server, bob);
    expect(await watch.during(300, (f) => f.type === "feed" && f.change === "presence")).toEqual([]);
    expect((await api(server, alice, "GET", `/api/v1/threads/${threadId}/presence`)).body.presence).toEqual([]);
    again.close();
    watch.close();
  });

  test("many people going at once: each one's contacts hear of each of them once, and of no one else", async () => {
    // Alice talks with five people, one of whom hides their presence; dan talks only with erin.
    const alice = await signup(server, "alice");
    const friends = await Promise.all(Array.from({ length: 5 }, (_, i) => signup(server, `pal${i}`)));
    for (const pal of friends) {
      const { thread } = await startThread(server, alice, pal, "hello");
      await api(server, pal, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "hi" });
    }
    const [dan, erin] = await Promise.all([signup(server, "dan"), signup(server, "erin")]);
    const { thread: other } = await startThread(server, dan, erin, "hello");
    await api(server, erin, "POST", `/api/v1/threads/${other.id}/messages`, { text: "hi" });
    await api(server, friends[4]!, "PATCH", "/api/v1/settings", { showPresence: false });

    const presence = (f: { type?: unknown; change?: unknown }) => f.type === "feed" && f.change === "presence";
    const watchAlice = await feedSocket(server, alice);
    const watchErin = await feedSocket(server, erin);
    const sockets = await Promise.all([...friends, dan].map((who) => SocketClient.open(server, who)));
    // Their coming online is heard first (all of it, so it cannot be mistaken for what follows).
    await watchAlice.until((frames) => frames.filter((f) => presence(f) && f.online === true).length === 4);
    await watchErin.until((frames) => frames.some((f) => presence(f) && f.userId === dan.id && f.online === true));
    const [fromAlice, fromErin] = [watchAlice.frames.length, watchErin.frames.length];
    // Everyone closes in the same moment; their grace periods run out together.
    for (const socket of sockets) socket.close();
    await Bun.sleep(8_000);
    const heardByAlice = watchAlice.frames.slice(fromAlice).filter(presence);
    expect(heardByAlice.map((f) => f.userId).sort()).toEqual(friends.slice(0, 4).map((p) => p.id).sort());
    expect(heardByAlice.every((f) => f.online === false && typeof f.lastSeen === "string")).toBe(true);
    const heardByErin = watchErin.frames.slice(fromErin).filter(presence);
    expect(heardByErin.map((f) => [f.userId, f.online])).toEqual([[dan.id, false]]);
    watchAlice.close();
    watchErin.close();
  });

  test.skipIf(embedded || !withRedis)("an instance that died without saying goodbye stops counting once its claim lapses", async () => {
    const [alice, bob, threadId] = await friends();
    const { core } = server.running;
    const [installation] = await schema.installation(core.db);
    const redis = new Redis(process.env.REDIS_URL!);
    const key = redisNames(installation!.id).presence(bob.id);
    await redis.hset(key, "crashed-instance", Date.now() + 60_000);
    expect((await api(server, alice, "GET", `/api/v1/threads/${threadId}/presence`)).body.presence[0].online).toBe(true);
    await redis.hset(key, "crashed-instance", Date.now() - 1);
    expect((await api(server, alice, "GET", `/api/v1/threads/${threadId}/presence`)).body.presence[0].online).toBe(false);
    await redis.quit();
  });
});

describe("message requests", () => {
  test("a stranger's first message lands in Requests, not the list; accepting makes it ordinary", async () => {
    const [stranger, bob] = await Promise.all([signup(server, "stranger"), signup(server, "bob")]);
    const { thread } = await startThread(server, stranger, bob, "hi, you don't know me");
    expect((await api(server, bob, "GET", "/api/v1/threads")).body.threads).toEqual([]);
    const requests = (await api(server, bob, "GET", "/api/v1/threads?status=request")).body.threads;
    expect(requests.map((t: { id: number; status: string }) => [t.id, t.status])).toEqual([[thread.id, "request"]]);
    // The stranger's own list has it as an ordinary conversation.
    expect((await api(server, stranger, "GET", "/api/v1/threads")).body.threads[0]).toMatchObject({ id: thread.id, status: "active" });
    expect((await api(server, bob, "POST", `/api/v1/threads/${thread.id}/accept`)).body.thread.status).toBe("active");
    expect((await api(server, bob, "GET", "/api/v1/threads")).body.threads.map((t: { id: number }) => t.id)).toEqual([thread.id]);
    expect((await api(server, bob, "GET", "/api/v1/threads?status=request")).body.threads).toEqual([]);
  });

  test("replying accepts; declining removes it, and a new message brings it back as a new request", async () => {
    const [s1, s2, bob] = await Promise.all([signup(server, "s"), signup(server, "s"), signup(server, "bob")]);
    const first = (await startThread(server, s1, bob, "request one")).thread.id;
    await api(server, bob, "POST", `/api/v1/threads/${first}/messages`, { text: "sure" });
    expect((await api(server, bob, "GET", `/api/v1/threads/${first}`)).body.thread.status).toBe("active");
    const second = (await startThread(server, s2, bob, "request two")).thread.id;
    expect((await api(server, bob, "POST", `/api/v1/threads/${second}/decline`, {})).status).toBe(204);
    expect((await api(server, bob, "GET", "/api/v1/threads?status=request")).body.threads).toEqual([]);
    expect((await api(server, bob, "GET", `/api/v1/threads/${second}`)).status).toBe(404);
    expect((await api(server, bob, "POST", `/api/v1/threads/${first}/decline`, {})).body.error.code).toBe("not_allowed");
    await api(server, s2, "POST", `/api/v1/threads/${second}/messages`, { text: "please?" });
    const back = (await api(server, bob, "GET", "/api/v1/threads?status=request")).body.threads;
    expect(back.map((t: { id: number }) => t.id)).toEqual([second]);
  });

  test("declining and blocking: the stranger can no longer write, and is told only that it was not delivered", async () => {
    const [stranger, bob] = await Promise.all([signup(server, "s"), signup(server, "bob")]);
    const { thread } = await startThread(server, stranger, bob, "buy my stuff");
    expect((await api(server, bob, "POST", `/api/v1/threads/${thread.id}/decline`, { block: true })).status).toBe(204);
    const again = await api(server, stranger, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "buy it!" });
    expect(again.status).toBe(403);
    expect(again.body.error).toEqual({ code: "undeliverable", message: "The message could not be delivered." });
    const fresh = await api(server, stranger, "POST", "/api/v1/threads", { participants: [bob.username], text: "new thread?" });
    expect(fresh.body.error.code).toBe("undeliverable");
    expect((await api(server, bob, "GET", "/api/v1/threads?status=request")).body.threads).toEqual([]);
    expect((await api(server, bob, "GET", "/api/v1/blocks")).body.blocked.map((u: Person) => u.id)).toEqual([stranger.id]);
  });
});

describe("blocking", () => {
  test("the blocked cannot start a conversation or write into the 1:1; the blocker's list drops it; unblocking undoes it", async () => {
    const [alice, bob, threadId] = await friends();
    const bobFeed = await feedSocket(server, bob);
    expect((await api(server, bob, "POST", "/api/v1/blocks", { username: alice.username })).status).toBe(204);
    expect(await bobFeed.next((f) => f.type === "feed" && f.change === "removed")).toMatchObject({ thread: { id: threadId } });
    expect((await api(server, bob, "GET", "/api/v1/threads")).body.threads).toEqual([]);
    // As alice would try it: through the page's API calls, the socket, a new conversation.
    const send = await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "why?" });
    expect(send.body.error).toEqual({ code: "undeliverable", message: "The message could not be delivered." });
    const socket = await SocketClient.open(server, alice);
    socket.send({ type: "send", threadId, text: "hello?", clientId: "b1" });
    expect(await socket.next((f) => f.type === "error")).toMatchObject({ code: "undeliverable", clientId: "b1" });
    expect((await api(server, alice, "POST", "/api/v1/threads", { participants: [bob.username] })).body.error.code).toBe("undeliverable");
    expect((await api(server, alice, "GET", `/api/v1/threads/${threadId}/messages`)).body.messages).toHaveLength(2);
    // bob cannot write to alice either while he blocks her (he is told why: it is his block).
    expect((await api(server, bob, "POST", "/api/v1/threads", { participants: [alice.username] })).body.error.code).toBe("not_allowed");
    // Blocking yourself, nobody, or twice.
    expect((await api(server, bob, "POST", "/api/v1/blocks", { username: bob.username })).status).toBe(422);
    expect((await api(server, bob, "POST", "/api/v1/blocks", { username: "nobody_q" })).status).toBe(404);
    expect((await api(server, bob, "POST", "/api/v1/blocks", { username: alice.username })).status).toBe(204);
    expect((await api(server, bob, "DELETE", `/api/v1/blocks/${alice.username}`)).status).toBe(204);
    expect(await bobFeed.next((f) => f.type === "feed" && f.change === "thread")).toMatchObject({ thread: { id: threadId } });
    expect((await api(server, bob, "GET", "/api/v1/threads")).body.threads.map((t: { id: number }) => t.id)).toEqual([threadId]);
    expect((await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "friends again" })).status).toBe(201);
    socket.close();
    bobFeed.close();
  });

  test("in a group both stay members, and the blocker no longer sees the other's messages: history, resume, live", async () => {
    const [alice, bob, carol] = await Promise.all([signup(server, "alice"), signup(server, "bob"), signup(server, "carol")]);
    const created = await api(server, alice, "POST", "/api/v1/threads", { participants: [bob.username, carol.username], title: "mixed" });
    const threadId = created.body.thread.id;
    await api(server, carol, "POST", `/api/v1/threads/${threadId}/messages`, { text: "carol 1" });
    await api(server, bob, "POST", "/api/v1/blocks", { username: carol.username });
    const bobSocket = await SocketClient.open(server, bob);
    const { replay } = await bobSocket.subscribe(threadId, 0);
    expect(replay.map((f) => f.message.text)).toEqual([`${alice.username} created the group “mixed”`]);
    expect(bobSocket.frames.filter((f) => f.type === "skip").map((f) => f.seq)).toEqual([2]);
    const bobSse = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events`);
    await bobSse.next((e) => e.event === "subscribed");
    await api(server, carol, "POST", `/api/v1/threads/${threadId}/messages`, { text: "carol 2" });
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "alice 1" });
    await bobSocket.until(() => bobSocket.messagesOf(threadId).some((f) => f.message.text === "alice 1"));
    expect(bobSocket.messagesOf(threadId).map((f) => f.message.text)).not.toContain("carol 2");
    expect(bobSocket.frames.filter((f) => f.type === "skip").map((f) => f.seq)).toEqual([2, 3]);
    await bobSse.until((e) => e.some((x) => x.event === "message" && x.json.text === "alice 1"));
    expect(bobSse.messages().map((m) => m.text)).toEqual(["alice 1"]);
    expect(bobSse.events.filter((e) => e.event === "skip").map((e) => e.id)).toEqual(["3"]);
    const history = (await api(server, bob, "GET", `/api/v1/threads/${threadId}/messages`)).body.messages.map((m: { text: string }) => m.text);
    expect(history).toEqual([`${alice.username} created the group “mixed”`, "alice 1"]);
    expect((await api(server, bob, "GET", `/api/v1/threads/${threadId}`)).body.thread.unread).toBe(1);
    // Both are still members: carol still sends, others still see her.
    const aliceView = (await api(server, alice, "GET", `/api/v1/threads/${threadId}/messages`)).body.messages.map((m: { text: string }) => m.text);
    expect(aliceView).toContain("carol 2");
    // Unblocked while connected: her next message reaches bob live.
    await api(server, bob, "DELETE", `/api/v1/blocks/${carol.username}`);
    await Bun.sleep(100);
    await api(server, carol, "POST", `/api/v1/threads/${threadId}/messages`, { text: "carol 3" });
    await bobSocket.until(() => bobSocket.messagesOf(threadId).some((f) => f.message.text === "carol 3"));
    bobSocket.close();
    bobSse.close();
  });
});

describe("what strangers and blocked people cannot get round", () => {
  test("an unaccepted request is not 'having talked': later conversations from the same stranger are requests too", async () => {
    const [mallory, alice, puppet] = await Promise.all([signup(server, "mallory"), signup(server, "alice"), signup(server, "puppet")]);
    await api(server, mallory, "POST", "/api/v1/threads", { participants: [alice.username, puppet.username], title: "first" });
    const dm = await api(server, mallory, "POST", "/api/v1/threads", { participants: [alice.username], text: "hi again" });
    const second = await api(server, mallory, "POST", "/api/v1/threads", { participants: [alice.username, puppet.username], title: "second" });
    const fromPuppet = await api(server, puppet, "POST", "/api/v1/threads", { participants: [alice.username], text: "me too" });
    expect((await api(server, alice, "GET", "/api/v1/threads")).body.threads).toEqual([]);
    const requests = (await api(server, alice, "GET", "/api/v1/threads?status=request")).body.threads.map((t: { id: number }) => t.id);
    for (const t of [dm, second, fromPuppet]) expect(requests).toContain(t.body.thread.id);
    // Nor does a request make them a contact: no presence, no read receipts.
    const aliceSocket = await SocketClient.open(server, alice);
    expect((await api(server, mallory, "GET", `/api/v1/users/${alice.username}`)).body.presence).toBeNull();
    await api(server, alice, "POST", `/api/v1/threads/${dm.body.thread.id}/read`, { seq: 1 });
    expect((await api(server, mallory, "GET", `/api/v1/threads/${dm.body.thread.id}/receipts`)).body.readSeq).toBeNull();
    aliceSocket.close();
  });

  test("declining a group request leaves it with a line, cuts the connection, and can block whoever added you", async () => {
    const [mallory, alice, carol] = await Promise.all([signup(server, "mallory"), signup(server, "alice"), signup(server, "carol")]);
    const created = await api(server, mallory, "POST", "/api/v1/threads", { participants: [alice.username, carol.username], title: "deal" });
    const threadId = created.body.thread.id;
    const aliceSocket = await SocketClient.open(server, alice);
    await aliceSocket.subscribe(threadId);
    expect((await api(server, alice, "POST", `/api/v1/threads/${threadId}/decline`, { block: true })).status).toBe(204);
    await aliceSocket.until((frames) => frames.some((f) => f.type === "unsubscribed" && f.threadId === threadId));
    await api(server, mallory, "POST", `/api/v1/threads/${threadId}/messages`, { text: "after alice declined" });
    expect(await aliceSocket.during(300, (f) => f.type === "message" && f.message.text === "after alice declined")).toEqual([]);
    const log = (await api(server, mallory, "GET", `/api/v1/threads/${threadId}/messages`)).body.messages.map((m: { text: string }) => m.text);
    expect(log).toContain(`${alice.username} left`);
    expect((await api(server, alice, "GET", "/api/v1/blocks")).body.blocked.map((u: Person) => u.id)).toEqual([mallory.id]);
    aliceSocket.close();
  });

  test("after declining someone you can still write to them yourself", async () => {
    const [stranger, bob] = await Promise.all([signup(server, "s"), signup(server, "bob")]);
    const { thread } = await startThread(server, stranger, bob, "hello?");
    await api(server, bob, "POST", `/api/v1/threads/${thread.id}/decline`, {});
    const later = await api(server, bob, "POST", "/api/v1/threads", { participants: [stranger.username], text: "changed my mind" });
    expect(later.status).toBe(200);
    expect(later.body.thread).toMatchObject({ id: thread.id, status: "active" });
  });

  test("the blocker's list preview does not show the blocked person's message; the blocker cannot write into the 1:1 either", async () => {
    const [alice, bob, carol] = await Promise.all([signup(server, "alice"), signup(server, "bob"), signup(server, "carol")]);
    const g = await api(server, alice, "POST", "/api/v1/threads", { participants: [bob.username, carol.username], title: "g" });
    await api(server, carol, "POST", `/api/v1/threads/${g.body.thread.id}/messages`, { text: "carol's secret" });
    await api(server, bob, "POST", "/api/v1/blocks", { username: carol.username });
    const page = await fetch(`${server.url}/messages?status=request`, { headers: { cookie: `parley_session=${bob.token}` } });
    expect(await page.text()).not.toContain("carol's secret");
    const [x, y, direct] = await friends();
    await api(server, y, "POST", "/api/v1/blocks", { username: x.username });
    const mine = await api(server, y, "POST", `/api/v1/threads/${direct}/messages`, { text: "ha" });
    expect(mine.body.error.code).toBe("not_allowed");
    // Someone who blocked you cannot be put in your group; you are told only that.
    const grp = await api(server, x, "POST", "/api/v1/threads", { participants: [y.username, carol.username], title: "mine" });
    expect(grp.body.error.code).toBe("undeliverable");
  });

  test("odd paths and retries: receipts of someone else's thread, %-names, a bad clientId", async () => {
    const [alice, bob, threadId] = await friends();
    const carol = await signup(server, "carol");
    expect((await api(server, carol, "GET", `/api/v1/threads/${threadId}/receipts`)).status).toBe(404);
    expect((await api(server, carol, "GET", "/api/v1/threads/987654321/receipts")).status).toBe(404);
    const odd = await fetch(`${server.url}/u/%25`, { headers: { cookie: `parley_session=${alice.token}` }, redirect: "manual" });
    expect(odd.status).toBe(404);
    const before = (await api(server, alice, "GET", "/api/v1/threads")).body.threads.length;
    const bad = await api(server, alice, "POST", "/api/v1/threads", { participants: [bob.username, carol.username], title: "t", text: "x", clientId: "bad id!" });
    expect(bad.status).toBe(400);
    expect((await api(server, alice, "GET", "/api/v1/threads")).body.threads.length).toBe(before);
  });
});
