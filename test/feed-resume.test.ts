// A person's feed resumed from a cursor hears of every change to their conversation list made
// while they were away, including those that leave no message, read or join time behind:
// removed from a group, a request declined or accepted, the other side of a 1:1 blocked or
// unblocked (sql/migrations/0007_list_changes.sql).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread, type Frame, type Person } from "./helpers/client.ts";
import { SseClient } from "./helpers/sse.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

/** bob's feed cursor now: what a client holds when its connection drops. */
async function cursorOf(who: Person): Promise<string> {
  const socket = await SocketClient.open(server, who);
  socket.send({ type: "subscribe", feed: "me" });
  const subscribed = await socket.next((f) => f.type === "subscribed" && f.feed === "me");
  socket.close();
  return subscribed.cursor as string;
}

/** What a feed resumed from the cursor says of each conversation: its last change. */
async function resume(who: Person, after: string): Promise<Map<number, Frame>> {
  const socket = await SocketClient.open(server, who);
  socket.send({ type: "subscribe", feed: "me", after });
  await socket.next((f) => f.type === "subscribed" && f.feed === "me");
  socket.close();
  const last = new Map<number, Frame>();
  for (const f of socket.frames) if (f.type === "feed" && f.thread) last.set(f.thread.id, f);
  return last;
}

test("removed from a group, a request declined, a 1:1 blocked: `removed`; a request accepted, a 1:1 unblocked: its state", async () => {
  const [alice, bob, carol, dave] = (await Promise.all(["alice", "bob", "carol", "dave"].map((n) => signup(server, n)))) as [Person, Person, Person, Person];
  const direct = (await startThread(server, alice, bob, "hi bob")).thread.id;
  await api(server, bob, "POST", `/api/v1/threads/${direct}/messages`, { text: "hi alice" }); // accepted by answering
  const group = (await api(server, alice, "POST", "/api/v1/threads", { participants: [bob.username, carol.username], title: "club" })).body.thread.id as number;
  const fromCarol = (await startThread(server, carol, bob, "hello?")).thread.id;
  const fromDave = (await startThread(server, dave, bob, "buy my stuff")).thread.id;
  await api(server, bob, "POST", `/api/v1/threads/${group}/accept`);

  const away = await cursorOf(bob);
  // While bob's connection is down (on another device of his, and by alice):
  expect((await api(server, alice, "DELETE", `/api/v1/threads/${group}/members/${bob.username}`)).status).toBe(200);
  expect((await api(server, bob, "POST", `/api/v1/threads/${fromCarol}/accept`)).status).toBe(200);
  expect((await api(server, bob, "POST", `/api/v1/threads/${fromDave}/decline`, {})).status).toBe(204);
  expect((await api(server, bob, "POST", "/api/v1/blocks", { username: alice.username })).status).toBe(204);

  const heard = await resume(bob, away);
  expect(heard.get(group)).toMatchObject({ change: "removed", thread: { id: group, kind: "group" } });
  expect(heard.get(fromDave)).toMatchObject({ change: "removed", thread: { id: fromDave } });
  expect(heard.get(direct)).toMatchObject({ change: "removed", thread: { id: direct, kind: "direct" } });
  expect(heard.get(fromCarol)).toMatchObject({ change: "thread", thread: { id: fromCarol, status: "active" } });
  // What the list shows now agrees with what the resume said.
  const listed = (await api(server, bob, "GET", "/api/v1/threads")).body.threads.map((t: { id: number }) => t.id);
  expect(listed).toContain(fromCarol);
  for (const gone of [group, fromDave, direct]) expect(listed).not.toContain(gone);

  // Unblocking brings the 1:1 back; a feed resumed over SSE hears of it as its state.
  const later = await cursorOf(bob);
  expect((await api(server, bob, "DELETE", `/api/v1/blocks/${alice.username}`)).status).toBe(204);
  const sse = await SseClient.open(server, bob, `/api/v1/events?after=${encodeURIComponent(later)}`);
  const back = await sse.next((e) => e.event === "feed" && JSON.parse(e.data).thread?.id === direct);
  expect(JSON.parse(back.data)).toMatchObject({ change: "thread", thread: { id: direct, lastSeq: 2 } });
  sse.close();
});

test("nothing changed while away: a resume says nothing of the conversations that left the list before", async () => {
  const [alice, bob] = (await Promise.all(["alice", "bob"].map((n) => signup(server, n)))) as [Person, Person];
  const group = (await api(server, alice, "POST", "/api/v1/threads", { participants: [bob.username], title: "old" })).body.thread.id as number;
  await api(server, alice, "DELETE", `/api/v1/threads/${group}/members/${bob.username}`);
  // The resume looks back two minutes before its cursor (chat/feed.ts); a removal older than that is not news.
  await server.running.core.db.query("UPDATE list_changes SET at = at - interval '10 minutes' WHERE user_id = $1", [bob.id]);
  const heard = await resume(bob, await cursorOf(bob));
  expect(heard.has(group)).toBe(false);
});
