// Group conversations: creation, members coming and going (as system lines in the log),
// delivery to everyone once over WebSocket and SSE, and a removed member cut off at once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread, type Person } from "./helpers/client.ts";
import { SseClient } from "./helpers/sse.ts";
import { NoJsBrowser } from "./helpers/browser-nojs.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** n new people; the first few are typed as present (the tests ask for as many as they use). */
async function people(n: number, base: string): Promise<Person[] & Record<0 | 1 | 2 | 3, Person>> {
  const out: Person[] = [];
  for (let i = 0; i < n; i += 10) out.push(...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => signup(server, base)))));
  return out as Person[] & Record<0 | 1 | 2 | 3, Person>;
}

async function group(creator: Person, members: Person[], title?: string) {
  const res = await api(server, creator, "POST", "/api/v1/threads", { participants: members.map((m) => m.username), ...(title !== undefined ? { title } : {}) });
  expect(res.status).toBe(201);
  return res.body.thread as { id: number; kind: string; title: string | null; participants: Person[]; lastSeq: number; createdBy: number };
}

describe("creating groups", () => {
  test("several participants, or a title, make a new group every time; it starts with a system line", async () => {
    const [alice, bob, carol] = await people(3, "g");
    const first = await group(alice, [bob, carol]);
    const second = await group(alice, [bob, carol]);
    const titled = await group(alice, [bob], "Weekend plans");
    expect(new Set([first.id, second.id, titled.id]).size).toBe(3);
    expect(first).toMatchObject({ kind: "group", title: null, createdBy: alice.id, lastSeq: 1 });
    expect(titled).toMatchObject({ kind: "group", title: "Weekend plans" });
    expect(first.participants.map((p) => p.id).sort()).toEqual([alice.id, bob.id, carol.id].sort());
    const log = await api(server, bob, "GET", `/api/v1/threads/${titled.id}/messages`);
    expect(log.body.messages[0]).toMatchObject({ seq: 1, kind: "system", event: { type: "created", title: "Weekend plans" }, sender: { id: alice.id } });
    // A 1:1 with bob still exists separately, and is still reused.
    const direct = await api(server, alice, "POST", "/api/v1/threads", { participants: [bob.username] });
    expect(direct.body.thread.kind).toBe("direct");
  });

  test("bad titles, unknown people and too many members are refused with nothing created", async () => {
    const [alice, bob] = await people(2, "g");
    const before = (await api(server, alice, "GET", "/api/v1/threads")).body.threads.length;
    const cases: [unknown, number, string][] = [
      [{ participants: [bob.username], title: "" }, 422, "invalid_title"],
      [{ participants: [bob.username], title: "x".repeat(101) }, 422, "invalid_title"],
      [{ participants: [bob.username], title: 5 }, 422, "invalid_title"],
      [{ participants: [bob.username, "nobody_at_all_x"] }, 404, "unknown_user"],
      [{ participants: [alice.username], title: "just me" }, 422, "invalid_participants"],
      [{ participants: [bob.username], title: null }, 201, ""], // no title and one person: their 1:1
      [{ participants: [bob.username, bob.username.toUpperCase()], title: "twice" }, 201, ""],
    ];
    for (const [body, status, code] of cases) {
      const res = await api(server, alice, "POST", "/api/v1/threads", body);
      expect({ body, status: res.status, code: res.body.error?.code ?? "" }).toEqual({ body, status, code });
    }
    const after = (await api(server, alice, "GET", "/api/v1/threads")).body.threads;
    expect(after.length).toBe(before + 2);
    expect(after.map((t: { kind: string }) => t.kind).sort()).toEqual(["direct", "group"]);
    expect(after.find((t: { kind: string }) => t.kind === "group").participants).toHaveLength(2);
  });
});

describe("delivery in groups", () => {
  test("a group of 3: every member gets each message once, in order, with the sender's name, over WebSocket and SSE", async () => {
    const [alice, bob, carol] = await people(3, "g3");
    const thread = await group(alice, [bob, carol], "three");
    const bobWs = await SocketClient.open(server, bob);
    await bobWs.subscribe(thread.id);
    const carolSse = await SseClient.open(server, carol, `/api/v1/threads/${thread.id}/events`);
    await carolSse.next((e) => e.event === "subscribed");
    const aliceWs = await SocketClient.open(server, alice);
    await aliceWs.subscribe(thread.id);
    for (let i = 0; i < 30; i++) {
      const from = [alice, bob, carol][i % 3]!;
      await api(server, from, "POST", `/api/v1/threads/${thread.id}/messages`, { text: `${from.username} ${i}` });
    }
    for (const s of [bobWs, aliceWs]) await s.until(() => s.messagesOf(thread.id).length === 30);
    await carolSse.until((e) => e.filter((x) => x.event === "message").length === 30);
    for (const s of [bobWs, aliceWs]) expect(s.messagesOf(thread.id).map((f) => f.message.seq)).toEqual(range(2, 31));
    expect(carolSse.messages().map((m) => m.seq)).toEqual(range(2, 31));
    for (const m of carolSse.messages()) expect(m.text.startsWith(m.sender.username)).toBe(true);
    bobWs.close();
    aliceWs.close();
    carolSse.close();
  });

  test("a group of 200 over WebSocket and SSE: everyone gets each message once", async () => {
    const everyone = await people(200, "big");
    const [creator, ...others] = everyone;
    const thread = await group(creator!, others, "two hundred");
    expect(thread.participants).toHaveLength(200);
    const sockets = await Promise.all(everyone.slice(0, 150).map((p) => SocketClient.open(server, p)));
    await Promise.all(sockets.map((s) => s.subscribe(thread.id)));
    const streams = await Promise.all(everyone.slice(150).map((p) => SseClient.open(server, p, `/api/v1/threads/${thread.id}/events`)));
    await Promise.all(streams.map((s) => s.next((e) => e.event === "subscribed")));
    for (let i = 0; i < 10; i++) {
      const from = everyone[i * 17]!;
      await api(server, from, "POST", `/api/v1/threads/${thread.id}/messages`, { text: `to all ${i}` });
    }
    await Promise.all(sockets.map((s) => s.until(() => s.messagesOf(thread.id).length === 10, 20_000)));
    await Promise.all(streams.map((s) => s.until((e) => e.filter((x) => x.event === "message").length === 10, 20_000)));
    for (const s of sockets) expect(s.messagesOf(thread.id).map((f) => f.message.seq)).toEqual(range(2, 11));
    for (const s of streams) expect(s.messages().map((m) => m.seq)).toEqual(range(2, 11));
    for (const s of sockets) s.close();
    for (const s of streams) s.close();
  }, 120_000);
});

describe("members", () => {
  test("adding, renaming and leaving show as system lines; only the creator renames and removes", async () => {
    const [alice, bob, carol, dave] = await people(4, "m");
    const thread = await group(alice, [bob], "before");
    expect((await api(server, bob, "POST", `/api/v1/threads/${thread.id}/members`, { username: carol.username })).status).toBe(201);
    expect((await api(server, bob, "PATCH", `/api/v1/threads/${thread.id}`, { title: "bob's name" })).body.error.code).toBe("not_allowed");
    expect((await api(server, bob, "DELETE", `/api/v1/threads/${thread.id}/members/${carol.username}`)).body.error.code).toBe("not_allowed");
    const renamed = await api(server, alice, "PATCH", `/api/v1/threads/${thread.id}`, { title: "  after   all  " });
    expect(renamed.body.thread.title).toBe("after all");
    expect((await api(server, alice, "POST", `/api/v1/threads/${thread.id}/members`, { username: carol.username })).body.error.code).toBe("invalid_participants");
    expect((await api(server, alice, "POST", `/api/v1/threads/${thread.id}/members`, { username: "nobody_at_all_y" })).status).toBe(404);
    expect((await api(server, bob, "DELETE", `/api/v1/threads/${thread.id}/members/${bob.username}`)).status).toBe(200);
    // dave, who is not in it, can do none of it, and it looks like nothing is there.
    for (const [method, path, body] of [
      ["POST", `/api/v1/threads/${thread.id}/members`, { username: dave.username }],
      ["PATCH", `/api/v1/threads/${thread.id}`, { title: "mine" }],
      ["DELETE", `/api/v1/threads/${thread.id}/members/${alice.username}`, undefined],
    ] as const) {
      expect((await api(server, dave, method, path, body)).status).toBe(404);
    }
    const log = (await api(server, alice, "GET", `/api/v1/threads/${thread.id}/messages`)).body.messages;
    expect(log.map((m: { event: { type: string } }) => m.event.type)).toEqual(["created", "member_added", "renamed", "member_left"]);
    expect(log.map((m: { text: string }) => m.text)).toEqual([
      `${alice.username} created the group “before”`,
      `${bob.username} added ${carol.username}`,
      `${alice.username} renamed the group to “after all”`,
      `${bob.username} left`,
    ]);
    // System lines are not messages anyone sent: counters and unread leave them out.
    expect((await api(server, carol, "GET", `/api/v1/threads/${thread.id}`)).body.thread).toMatchObject({ total: 0, unread: 0, lastSeq: 4 });
    const p = (await api(server, carol, "GET", `/api/v1/threads/${thread.id}`)).body.thread.participants.map((x: Person) => x.id).sort();
    expect(p).toEqual([alice.id, carol.id].sort());
    // A 1:1 has no members to change.
    const { thread: direct } = await startThread(server, alice, dave);
    expect((await api(server, alice, "POST", `/api/v1/threads/${direct.id}/members`, { username: carol.username })).body.error.code).toBe("not_allowed");
  });

  test("a removed member stops receiving at once on every transport, cannot resume, and gets 404 from then on", async () => {
    const [alice, bob, carol] = await people(3, "rm");
    const thread = await group(alice, [bob, carol], "cut");
    const bobWs = await SocketClient.open(server, bob);
    await bobWs.subscribe(thread.id);
    const bobHtml = await SocketClient.open(server, bob, { view: "html" });
    await bobHtml.subscribe(thread.id);
    const bobSse = await SseClient.open(server, bob, `/api/v1/threads/${thread.id}/events`);
    await bobSse.next((e) => e.event === "subscribed");
    const carolWs = await SocketClient.open(server, carol);
    await carolWs.subscribe(thread.id);

    await api(server, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "before" });
    const removed = await api(server, alice, "DELETE", `/api/v1/threads/${thread.id}/members/${bob.username}`);
    expect(removed.body.message).toMatchObject({ kind: "system", event: { type: "member_removed", member: { id: bob.id } } });
    await api(server, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "after" });
    await carolWs.until(() => carolWs.messagesOf(thread.id).length === 3);
    await Bun.sleep(200);
    // bob saw up to the line that removed him, and nothing after it.
    expect(bobWs.messagesOf(thread.id).map((f) => f.message.text)).toEqual(["before", `${alice.username} removed ${bob.username}`]);
    expect(bobWs.frames.some((f) => f.type === "unsubscribed" && f.threadId === thread.id)).toBe(true);
    expect(bobHtml.messagesOf(thread.id).map((f) => f.seq)).toEqual([2, 3]);
    expect(bobSse.messages().map((m) => m.text)).toEqual(["before", `${alice.username} removed ${bob.username}`]);
    await bobSse.until(() => bobSse.ended, 3000);
    // No way back in: subscribe, resume, SSE, API, pages.
    bobWs.send({ type: "subscribe", threadId: thread.id, after: 0 });
    expect(await bobWs.next((f) => f.type === "error")).toMatchObject({ code: "not_found", threadId: thread.id });
    expect((await SseClient.open(server, bob, `/api/v1/threads/${thread.id}/events?after=0`)).status).toBe(404);
    for (const path of [`/api/v1/threads/${thread.id}`, `/api/v1/threads/${thread.id}/messages`]) expect((await api(server, bob, "GET", path)).status).toBe(404);
    expect((await api(server, bob, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "let me back" })).status).toBe(404);
    const page = new NoJsBrowser(server);
    page.cookies.set("parley_session", bob.token);
    expect((await page.get(`/chat/${thread.id}`)).status).toBe(404);
    expect((await api(server, bob, "GET", "/api/v1/threads")).body.threads.map((t: { id: number }) => t.id)).not.toContain(thread.id);
    for (const s of [bobWs, bobHtml, carolWs]) s.close();
  });
});

test("a member removed while subscribing is refused, or cut off at the line that removed them", async () => {
  const [alice, bob] = await people(2, "race");
  const thread = await group(alice, [bob], "race");
  const { core } = server.running;
  // Remove bob at the worst moment: after his membership was first checked, while his
  // instance joins the thread's topic.
  const acquire = core.fanout.acquire.bind(core.fanout);
  let armed = true;
  core.fanout.acquire = async (topic) => {
    if (armed && topic === `thread:${thread.id}`) {
      armed = false;
      await api(server, alice, "DELETE", `/api/v1/threads/${thread.id}/members/${bob.username}`);
    }
    return acquire(topic);
  };
  try {
    const socket = await SocketClient.open(server, bob);
    socket.send({ type: "subscribe", threadId: thread.id, after: 0 });
    const answer = await socket.next((f) => (f.type === "error" || f.type === "subscribed") && f.threadId === thread.id);
    expect(answer).toMatchObject({ type: "error", code: "not_found" });
    await api(server, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "not for bob" });
    expect(await socket.during(300, (f) => f.type === "message")).toEqual([]);
    socket.close();
  } finally {
    core.fanout.acquire = acquire;
  }
});

describe("groups on pages, without JavaScript", () => {
  test("the new group form, members, rename and leave", async () => {
    const [bob, carol] = await people(2, "pg");
    const browser = new NoJsBrowser(server);
    const me = (await browser.signUp(`pa_${crypto.randomUUID().slice(0, 8)}`)).headers.get("location");
    expect(me).toBe("/messages");
    await browser.get("/messages");
    const bad = await browser.post("/groups", { title: "", members: `${bob.username} no_such_user_z`, text: "" });
    expect(bad.status).toBe(404);
    expect(browser.lastHtml).toContain("no_such_user_z");
    expect(browser.lastHtml).toContain(`value="${bob.username} no_such_user_z"`);
    const ok = await browser.post("/groups", { title: "Book club", members: `${bob.username}, ${carol.username}`, text: "first page" });
    expect(ok.status).toBe(303);
    const chat = ok.headers.get("location")!;
    await browser.get(chat);
    expect(browser.lastHtml).toContain("Book club");
    expect(browser.lastHtml).toContain("created the group “Book club”");
    expect(browser.lastHtml).toContain("first page");
    for (const p of [bob, carol]) expect(browser.lastHtml).toContain(`href="/u/${p.username}"`);
    const renamed = await browser.post(`${chat}/rename`, { title: "Reading club" });
    expect(renamed.status).toBe(303);
    await browser.get(chat);
    expect(browser.lastHtml).toContain("renamed the group to “Reading club”");
    // The system line is in both languages; the page's language shows.
    expect(browser.lastHtml).toContain('lang="ru"');
    await browser.post(`${chat}/members/${bob.username}/remove`, {});
    await browser.get(chat);
    expect(browser.lastHtml).toContain(`removed ${bob.username}`);
    const left = await browser.post(`${chat}/leave`, {});
    expect(left.headers.get("location")).toBe("/messages");
    expect((await browser.get(chat)).status).toBe(404);
  });
});
