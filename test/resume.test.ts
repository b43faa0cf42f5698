// Nothing lost: connections cut while messages keep coming, resumed by cursor on WebSocket and
// SSE; many senders at once; the "too far behind" reset; quiet streams; clients that leave.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread, type Person } from "./helpers/client.ts";
import { SseClient } from "./helpers/sse.ts";
import { RawSocket } from "./helpers/raw-socket.ts";

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

/** Sends `count` messages from alice, a few at a time, numbered from `from`. */
async function sendMany(count: number, from = 1, who: Person = alice, parallel = 4): Promise<void> {
  for (let i = 0; i < count; i += parallel) {
    await Promise.all(
      Array.from({ length: Math.min(parallel, count - i) }, (_, k) =>
        api(server, who, "POST", `/api/v1/threads/${threadId}/messages`, { text: `n${from + i + k}` }).then((r) => {
          if (r.status !== 201) throw new Error(`send failed: ${r.status}`);
        }),
      ),
    );
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("resume after cuts", () => {
  test("WebSocket: cut five times while 300 messages are sent, every message arrives exactly once, in order", async () => {
    const total = 300;
    const sending = sendMany(total);
    const received: number[] = [];
    let cursor = 0;
    for (let cut = 0; cut < 6 && received.length < total; cut++) {
      const socket = await SocketClient.open(server, bob);
      socket.send({ type: "subscribe", threadId, after: cursor });
      // Take some messages, then drop the connection without a goodbye.
      const take = cut < 5 ? 20 + cut * 7 : total;
      try {
        await socket.until((frames) => frames.filter((f) => f.type === "message").length >= Math.min(take, total - received.length), 15_000);
      } finally {
        for (const f of socket.frames) if (f.type === "message") received.push(f.message.seq);
        socket.ws.close();
      }
      cursor = received.at(-1) ?? cursor;
      await Bun.sleep(30 + cut * 20);
    }
    await sending;
    expect(received).toEqual(range(1, total));
  }, 60_000);

  test("SSE: cut while messages are sent, resumed with Last-Event-ID, every message exactly once, in order", async () => {
    const total = 200;
    const sending = sendMany(total);
    const received: number[] = [];
    let lastEventId: string | null = null;
    for (let cut = 0; received.at(-1) !== total; cut++) {
      const stream = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events`, lastEventId ? { "last-event-id": lastEventId } : {});
      expect(stream.status).toBe(200);
      const take = 15 + cut * 5;
      try {
        await stream.until((events) => {
          const got = events.filter((e) => e.event === "message");
          return got.length >= take || got.at(-1)?.json.seq === total;
        }, 15_000);
      } finally {
        stream.close();
        for (const e of stream.events) if (e.event === "message") received.push(e.json.seq);
      }
      lastEventId = stream.events.filter((e) => e.event === "message").at(-1)?.id ?? lastEventId;
      await Bun.sleep(40);
    }
    await sending;
    // The first stream started with no cursor: live from then on, so it may have begun after
    // the first few; ask for those by ?after= like a fresh EventSource would.
    const first = received[0]!;
    if (first > 1) {
      const head = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events?after=0`);
      await head.next((e) => e.event === "subscribed");
      const early = head.messages().map((m) => m.seq).filter((s) => s < first);
      head.close();
      received.unshift(...early);
    }
    expect(received).toEqual(range(1, total));
    // Each event is one message: id is its seq, and data its JSON.
    const check = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events?after=${total - 1}`);
    const last = await check.next((e) => e.event === "message");
    expect(last.id).toBe(String(total));
    expect(last.json).toMatchObject({ threadId, seq: total, text: `n${total}`, sender: { id: alice.id } });
    check.close();
  }, 60_000);

  test("several senders at once: every subscriber sees the same order, and it is seq order", async () => {
    const watchers = await Promise.all([SocketClient.open(server, bob), SocketClient.open(server, alice), SocketClient.open(server, bob, { view: "html" })]);
    for (const w of watchers) await w.subscribe(threadId);
    const stream = await SseClient.open(server, alice, `/api/v1/threads/${threadId}/events`);
    await stream.next((e) => e.event === "subscribed");
    const senders = await Promise.all([SocketClient.open(server, alice), SocketClient.open(server, bob), SocketClient.open(server, alice)]);
    const perSender = 40;
    senders.forEach((s, i) => {
      for (let k = 0; k < perSender; k++) s.send({ type: "send", threadId, text: `s${i}-${k}`, clientId: `s${i}-${k}` });
    });
    const total = senders.length * perSender;
    for (const s of senders) await s.until((frames) => frames.filter((f) => f.type === "ack").length === perSender, 20_000);
    for (const w of watchers) await w.until(() => w.messagesOf(threadId).length >= total, 20_000);
    await stream.until((events) => events.filter((e) => e.event === "message").length >= total, 20_000);

    const seqs = (w: SocketClient) => w.messagesOf(threadId).map((f) => f.message?.seq ?? f.seq);
    for (const w of watchers) expect(seqs(w)).toEqual(range(1, total));
    expect(stream.messages().map((m) => m.seq)).toEqual(range(1, total));
    // The same message at the same seq for everyone, and each sender's own order kept.
    const textAt = new Map(watchers[0]!.messagesOf(threadId).map((f) => [f.message.seq, f.message.text]));
    for (const m of stream.messages()) expect(m.text).toBe(textAt.get(m.seq));
    for (let i = 0; i < senders.length; i++) {
      const mine = [...textAt.values()].filter((t) => t.startsWith(`s${i}-`));
      expect(mine).toEqual(range(0, perSender - 1).map((k) => `s${i}-${k}`));
    }
    for (const s of [...watchers, ...senders]) s.close();
    stream.close();
  }, 60_000);
});

describe("too far behind", () => {
  test("a resume past 500 messages sends the first 500, complete, then reset, on both transports", async () => {
    await sendMany(520, 1, alice, 8);
    const socket = await SocketClient.open(server, bob);
    socket.send({ type: "subscribe", threadId, after: 10 });
    const reset = await socket.next((f) => f.type === "reset", 15_000);
    expect(reset).toMatchObject({ type: "reset", threadId, lastSeq: 510 });
    expect(socket.messagesOf(threadId).map((f) => f.message.seq)).toEqual(range(11, 510));
    // Not subscribed after a reset: nothing more arrives until the client subscribes again.
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "after reset" });
    expect(await socket.during(300, (f) => f.type === "message")).toEqual([]);
    const { replay } = await socket.subscribe(threadId, 510);
    expect(replay.map((f) => f.message.seq)).toEqual(range(511, 521));
    socket.close();

    const stream = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events`, { "last-event-id": "5" });
    const sseReset = await stream.next((e) => e.event === "reset", 15_000);
    expect(sseReset.json).toMatchObject({ threadId, lastSeq: 505 });
    expect(stream.messages().map((m) => m.seq)).toEqual(range(6, 505));
    await stream.until(() => stream.ended, 5000); // the server ends the stream after a reset
  }, 60_000);
});

describe("event streams", () => {
  test("are for participants only, and say what is wrong", async () => {
    const carol = await signup(server, "carol");
    const outsider = await SseClient.open(server, carol, `/api/v1/threads/${threadId}/events`);
    expect(outsider.status).toBe(404);
    expect(JSON.parse(outsider.body).error.code).toBe("not_found");
    const anonymous = await SseClient.open(server, null, `/api/v1/threads/${threadId}/events`);
    expect(anonymous.status).toBe(401);
    const badCursor = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events`, { "last-event-id": "abc" });
    expect(badCursor.status).toBe(400);
    const cookie = { cookie: `parley_session=${bob.token}` };
    for (const origin of ["http://evil.example", "null"]) {
      const foreign = await SseClient.open(server, null, `/api/v1/threads/${threadId}/events`, { ...cookie, origin });
      expect(foreign.status).toBe(403);
    }
    expect((await SseClient.open(server, null, `/api/v1/threads/${threadId}/events`, cookie)).status).toBe(403);
    const ownPage = await SseClient.open(server, null, `/api/v1/threads/${threadId}/events`, { ...cookie, "sec-fetch-site": "same-origin" });
    expect(ownPage.status).toBe(200);
    ownPage.close();
  });

  test("a client that goes away is unsubscribed at once, not at the next event", async () => {
    const { core } = server.running;
    const baseline = core.fanout.topicCount();
    const stream = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events`);
    await stream.next((e) => e.event === "subscribed");
    expect(core.fanout.topicCount()).toBe(baseline + 1);
    const clients = core.live.count();
    stream.close();
    const deadline = Date.now() + 1000;
    while (core.fanout.topicCount() > baseline && Date.now() < deadline) await Bun.sleep(10);
    expect(core.fanout.topicCount()).toBe(baseline);
    expect(core.live.count()).toBe(clients - 1);
  });

  test("a stream quiet for longer than the idle timeout stays open and delivers the next message (client in another process)", async () => {
    const quiet = await startServer({ idleTimeoutS: 2 });
    try {
      const [a, b] = await Promise.all([signup(quiet, "qa"), signup(quiet, "qb")]);
      const { thread } = await startThread(quiet, a, b);
      const child = Bun.spawn(["bun", new URL("./helpers/sse-child.ts", import.meta.url).pathname, `${quiet.url}/api/v1/threads/${thread.id}/events`, b.token], {
        stdout: "pipe",
        stderr: "inherit",
      });
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      const readUntil = async (needle: string, ms: number) => {
        const deadline = Date.now() + ms;
        while (!out.includes(needle)) {
          if (Date.now() > deadline) throw new Error(`child said: ${out}`);
          const { value, done } = await lines.read();
          if (done) throw new Error(`child ended: ${out}`);
          out += value;
        }
      };
      await readUntil("subscribed", 10_000);
      // Three times the idle timeout with nothing on the wire but, at most, keep-alive comments.
      await Bun.sleep(6_500);
      await api(quiet, a, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "still there?" });
      await readUntil("still there?", 5_000);
      expect(out).toContain('"seq":1');
      child.kill();
    } finally {
      await quiet.stop();
    }
  }, 30_000);
});

describe("the person's feed", () => {
  test("over WebSocket: new conversations, new messages anywhere, reads on other tabs; resumable", async () => {
    const carol = await signup(server, "carol");
    const tab1 = await SocketClient.open(server, bob);
    const tab2 = await SocketClient.open(server, bob);
    for (const tab of [tab1, tab2]) {
      tab.send({ type: "subscribe", feed: "me" });
      await tab.next((f) => f.type === "subscribed" && f.feed === "me");
    }
    // carol writes to bob for the first time: a new conversation, then its message.
    const { thread } = await startThread(server, carol, bob, "hi bob, it's carol");
    const created = await tab1.next((f) => f.type === "feed" && f.change === "thread");
    expect(created.thread).toMatchObject({ id: thread.id, kind: "direct" });
    const message = await tab1.next((f) => f.type === "feed" && f.change === "message" && f.thread.id === thread.id);
    expect(message.message).toMatchObject({ seq: 1, text: "hi bob, it's carol", sender: { id: carol.id } });
    expect(message.thread).toMatchObject({ lastSeq: 1 });
    // A message in another of bob's conversations reaches the feed too.
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "from alice" });
    await tab2.until((frames) => frames.some((f) => f.type === "feed" && f.change === "message" && f.thread.id === threadId));
    // bob reads carol's thread in tab 1; tab 2 hears that it is read now.
    tab1.send({ type: "read", threadId: thread.id, seq: 1 });
    const read = await tab2.next((f) => f.type === "feed" && f.change === "read");
    expect(read).toMatchObject({ thread: { id: thread.id }, readSeq: 1, unread: 0 });

    // Resume from a cursor: the current state of each thread that changed since.
    const cursor = read.cursor as string;
    tab1.close();
    await api(server, carol, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "while you were away" });
    const back = await SocketClient.open(server, bob);
    back.send({ type: "subscribe", feed: "me", after: cursor });
    await back.next((f) => f.type === "subscribed" && f.feed === "me");
    const states = back.frames.filter((f) => f.type === "feed");
    const carols = states.find((f) => f.thread.id === thread.id);
    expect(carols).toMatchObject({ change: "thread", thread: { id: thread.id, lastSeq: 2, unread: 1, total: 2 } });
    back.send({ type: "subscribe", feed: "me", after: "not a time" });
    expect(await back.next((f) => f.type === "error")).toMatchObject({ code: "bad_request", feed: "me" });
    for (const s of [tab2, back]) s.close();
  });

  test("over SSE at /api/v1/events, with the same resume", async () => {
    const feed = await SseClient.open(server, bob, "/api/v1/events");
    await feed.next((e) => e.event === "subscribed");
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "for the feed" });
    const event = await feed.next((e) => e.event === "feed");
    expect(event.json).toMatchObject({ type: "feed", change: "message", thread: { id: threadId, lastSeq: 1 }, message: { text: "for the feed" } });
    expect(event.id).toBe(event.json.cursor);
    feed.close();
    const resumed = await SseClient.open(server, bob, "/api/v1/events", { "last-event-id": event.id! });
    const state = await resumed.next((e) => e.event === "feed");
    expect(state.json).toMatchObject({ change: "thread", thread: { id: threadId, unread: 1 } });
    resumed.close();
  });
});

describe("the fan-out", () => {
  test("a message whose publisher died after its commit still reaches live subscribers, in order", async () => {
    const { core } = server.running;
    const socket = await SocketClient.open(server, bob);
    await socket.subscribe(threadId);
    // Stored, but never published: as if its instance died between commit and publish.
    const { MessageWriter } = await import("../src/chat/writer.ts");
    const silent = new MessageWriter(core.db, () => {});
    await silent.write({ threadId, sender: { id: alice.id, username: alice.username }, text: "orphan", clientId: null });
    expect(await socket.during(200, (f) => f.type === "message")).toEqual([]);
    // The next message shows the gap; the fan-out reads the orphan from the database.
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "next" });
    await socket.until(() => socket.messagesOf(threadId).length === 2);
    expect(socket.messagesOf(threadId).map((f) => [f.message.seq, f.message.text])).toEqual([
      [1, "orphan"],
      [2, "next"],
    ]);
    socket.close();
  });

  test("a client that stops reading is dropped and resumes by cursor; the others never wait for it", async () => {
    const stalled = await RawSocket.open(server.running.port, { authorization: `Bearer ${bob.token}`, origin: server.origin });
    stalled.send({ type: "subscribe", threadId });
    const healthy = await SocketClient.open(server, bob);
    await healthy.subscribe(threadId);
    await Bun.sleep(100);
    stalled.pause();
    const chunk = "x".repeat(8000);
    const count = 1500; // about 12 MB of frames: past Bun's 1 MiB buffer and the kernel's
    for (let i = 0; i < count; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, k) => api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: `${i + k} ${chunk}` })));
    }
    await healthy.until(() => healthy.messagesOf(threadId).length === count, 30_000);
    expect(healthy.messagesOf(threadId).map((f) => f.message.seq)).toEqual(range(1, count));
    expect(await stalled.drainUntilClosed(10_000)).toBe(true);
    // Back, it resumes from where it got to and misses nothing.
    const back = await SocketClient.open(server, bob);
    const { replay } = await back.subscribe(threadId, count - 10);
    expect(replay.map((f) => f.message.seq)).toEqual(range(count - 9, count));
    healthy.close();
    back.close();
  }, 90_000);
});

test("an event stream that stops reading is ended instead of buffering without bound", async () => {
  const { connect } = await import("node:net");
  const tcp = connect({ host: "127.0.0.1", port: server.running.port });
  await new Promise((r) => tcp.once("connect", r));
  tcp.write(`GET /api/v1/threads/${threadId}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${bob.token}\r\nAccept: text/event-stream\r\n\r\n`);
  let ended = false;
  tcp.on("close", () => (ended = true));
  tcp.on("end", () => (ended = true));
  await Bun.sleep(200);
  tcp.pause();
  const before = server.running.core.live.count();
  const chunk = "y".repeat(8000);
  for (let i = 0; i < 1500; i += 20) {
    await Promise.all(Array.from({ length: 20 }, (_, k) => api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: `${i + k} ${chunk}` })));
  }
  // The server has let go of it (it no longer counts as a live client)…
  const deadline = Date.now() + 10_000;
  while (server.running.core.live.count() >= before && Date.now() < deadline) await Bun.sleep(50);
  expect(server.running.core.live.count()).toBeLessThan(before);
  // …and the response ends (its last chunk arrives) once the reader catches up.
  let tail = "";
  tcp.on("data", (d: Buffer) => (tail = (tail + d.toString("latin1")).slice(-16)));
  tcp.resume();
  const finished = () => ended || tail.endsWith("0\r\n\r\n");
  while (!finished() && Date.now() < deadline + 10_000) await Bun.sleep(50);
  expect(finished()).toBe(true);
  tcp.destroy();
}, 60_000);

test("a delivery that ends its own subscription (a client dropped while its replay's backlog is handed over) stops the rest quietly", async () => {
  const { catchUpThread } = await import("../src/realtime/resume.ts");
  const core = server.running.core;
  const follow = await catchUpThread(core, bob.id, threadId, 0, () => 0);
  // Three messages arrive before the subscriber goes live: they wait in the follow.
  await sendMany(3, 1, alice, 1);
  await Bun.sleep(50);
  const got: number[] = [];
  expect(() =>
    follow.live((d) => {
      got.push(d.seq!);
      follow.release(); // the first delivery finds the client gone
    }, true),
  ).not.toThrow();
  expect(got).toEqual([1]);
});

describe("an event stream dropped before its first message", () => {
  test("thread: `subscribed` carries the id to resume from, so what was sent in the gap arrives, once", async () => {
    await sendMany(2);
    const first = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events`);
    const subscribed = await first.next((e) => e.event === "subscribed");
    first.close();
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "in the gap" });
    // What an EventSource does: reconnect with the last id it saw, if it saw one.
    const again = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events`, subscribed.id === null ? {} : { "last-event-id": subscribed.id });
    await again.next((e) => e.event === "subscribed");
    await Bun.sleep(100);
    expect(again.messages().map((m) => [m.seq, m.text])).toEqual([[3, "in the gap"]]);
    // The id is the thread's last seq, as a message's id is its seq.
    expect([subscribed.id, subscribed.json.lastSeq]).toEqual(["2", 2]);
    expect(again.events.find((e) => e.event === "subscribed")?.id).toBe("3");
    again.close();
  });

  test("feed: `subscribed` carries the cursor as its id, so a conversation that changed in the gap comes back", async () => {
    const first = await SseClient.open(server, bob, "/api/v1/events");
    const subscribed = await first.next((e) => e.event === "subscribed");
    first.close();
    await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "in the gap" });
    const again = await SseClient.open(server, bob, "/api/v1/events", subscribed.id === null ? {} : { "last-event-id": subscribed.id });
    await again.next((e) => e.event === "subscribed");
    const changed = again.events.filter((e) => e.event === "feed" && e.json.thread?.id === threadId);
    expect(changed.map((e) => e.json.change)).toEqual(["thread"]);
    expect(subscribed.id).toBe(subscribed.json.cursor); // the cursor, as a feed event's id is
    again.close();
  });
});

test("blocking someone while a subscription is still being handed over to the live topic: their messages are skipped, nothing arrives twice", async () => {
  const carol = await signup(server, "carol");
  const group = (await api(server, alice, "POST", "/api/v1/threads", { participants: [bob.username, carol.username], title: "handover" })).body.thread;
  const { core } = server.running;
  // carol follows the group on this instance, so its position is known here.
  const watcher = await SocketClient.open(server, carol);
  const { lastSeq: start } = await watcher.subscribe(group.id);
  // alice's next message is committed, but its event is held back on its way to this
  // instance's fan-out (as one from another instance can be, arriving late).
  const topic = `thread:${group.id}`;
  const held: [string, any][] = [];
  const receive = core.fanout.receive;
  core.fanout.receive = ((t: any, event: any) => {
    if (t === topic && event.type === "message" && held.length === 0 && event.message.seq === start + 1) held.push([t, event]);
    else receive.call(core.fanout, t, event);
  }) as typeof receive;
  try {
    await api(server, alice, "POST", `/api/v1/threads/${group.id}/messages`, { text: "before the block" });
    expect(held.length).toBe(1);
    // bob resumes: the replay reads that message from the database, past what the fan-out
    // delivered, so his subscription waits for the fan-out before joining the live topic.
    const socket = await SocketClient.open(server, bob);
    const { replay } = await socket.subscribe(group.id, start);
    expect(replay.map((f) => f.message.seq)).toEqual([start + 1]);
    // bob blocks alice; wait until his socket has taken it in.
    let conn: any;
    core.live.each(bob.id, (c) => (conn = c));
    const applied = new Promise<void>((resolve) => {
      const setBlocked = conn.setBlocked.bind(conn);
      conn.setBlocked = (ids: ReadonlySet<number>) => {
        setBlocked(ids);
        resolve();
      };
    });
    expect((await api(server, bob, "POST", "/api/v1/blocks", { username: alice.username })).status).toBe(204);
    await applied;
    // The held event arrives, then alice writes again, and carol too.
    core.fanout.receive = receive;
    receive.call(core.fanout, held[0]![0] as any, held[0]![1]);
    await api(server, alice, "POST", `/api/v1/threads/${group.id}/messages`, { text: "after the block" });
    await api(server, carol, "POST", `/api/v1/threads/${group.id}/messages`, { text: "from carol" });
    await socket.next((f) => f.type === "message" && f.message.text === "from carol");
    await Bun.sleep(100);
    const after = socket.frames.slice(socket.frames.findIndex((f) => f.type === "subscribed") + 1).filter((f) => f.type === "message" || f.type === "skip");
    expect(after.map((f) => (f.type === "skip" ? ["skip", f.seq] : [f.message.seq, f.message.text]))).toEqual([
      ["skip", start + 2],
      [start + 3, "from carol"],
    ]);
    socket.close();
  } finally {
    core.fanout.receive = receive;
    watcher.close();
  }
});
