// The group-commit writer under a backlog: thousands of sends at once across many threads,
// so batches fill up and a second transaction runs beside the first. Each thread's log must
// still be gapless, in the order its sender sent, each message stored and published once.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, startThread, type Person } from "./helpers/client.ts";
import { MessageWriter, type WriteResult } from "../src/chat/writer.ts";
import { connectPostgres, type Db } from "../src/db/client.ts";
import postgres from "postgres";
import { embedded } from "./helpers/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const THREADS = 16;
const PER_THREAD = 150;

test("a backlog of 2,400 sends over 16 threads: every thread gapless, in sending order, each message published once", async () => {
  const people: Person[] = await Promise.all(Array.from({ length: THREADS * 2 }, (_, i) => signup(server, `wr${i}`)));
  const threads = await Promise.all(
    Array.from({ length: THREADS }, async (_, t) => ({ sender: people[2 * t]!, id: (await startThread(server, people[2 * t]!, people[2 * t + 1]!)).thread.id })),
  );
  const published: WriteResult[] = [];
  const writer = new MessageWriter(server.running.core.db, (results) => published.push(...results));
  // All issued in one go, interleaved across threads, before any can commit.
  const writes: Promise<WriteResult>[] = [];
  for (let i = 0; i < PER_THREAD; i++) {
    for (const { sender, id } of threads) {
      writes.push(writer.write({ threadId: id, sender: { id: sender.id, username: sender.username }, text: `${id}:${i}`, clientId: `w${i}` }));
    }
  }
  const results = await Promise.all(writes);
  await writer.drain();

  for (const { id } of threads) {
    const mine = results.filter((r) => r.message.threadId === id);
    // Answered in sending order with seqs 1, 2, 3…: the order they were sent is the log's.
    expect(mine.map((r) => r.message.text)).toEqual(Array.from({ length: PER_THREAD }, (_, i) => `${id}:${i}`));
    expect(mine.map((r) => r.message.seq)).toEqual(Array.from({ length: PER_THREAD }, (_, i) => i + 1));
    // Published once each, in seq order within the thread.
    expect(published.filter((r) => r.message.threadId === id).map((r) => r.message.seq)).toEqual(mine.map((r) => r.message.seq));
  }
  expect(published.length).toBe(THREADS * PER_THREAD);

  // What is stored is what was answered.
  const [first] = threads;
  const history = await api(server, first!.sender, "GET", `/api/v1/threads/${first!.id}/messages?limit=200`);
  expect(history.body.messages.map((m: { text: string }) => m.text)).toEqual(Array.from({ length: PER_THREAD }, (_, i) => `${first!.id}:${i}`));

  // Sent again with the same clientIds (a client retrying after a lost ack): the same
  // messages come back and nothing new is stored.
  const again = await Promise.all(threads.map(({ sender, id }) => writer.write({ threadId: id, sender: { id: sender.id, username: sender.username }, text: "retry", clientId: "w7" })));
  for (const [k, r] of again.entries()) expect(r).toMatchObject({ created: false, message: { seq: 8, text: `${threads[k]!.id}:7` } });
  expect((await api(server, first!.sender, "GET", `/api/v1/threads/${first!.id}`)).body.thread.lastSeq).toBe(PER_THREAD);
}, 60_000);

test("messages keep no key to their thread or sender in the database: the writer refuses a missing thread, a non-member and an unknown sender, in the same batch as good sends, and stores no orphan", async () => {
  const [ann, ben, cal] = await Promise.all(["wa", "wb", "wc"].map((n) => signup(server, n)));
  const { thread } = await startThread(server, ann!, ben!);
  const writer = new MessageWriter(server.running.core.db, () => {});
  const as = (p: Person) => ({ id: p.id, username: p.username });
  // Issued together, so they share one transaction.
  const outcomes = await Promise.allSettled([
    writer.write({ threadId: thread.id, sender: as(ann!), text: "good 1", clientId: "g1" }),
    writer.write({ threadId: 2_000_000_000, sender: as(ann!), text: "to no thread", clientId: "x1" }),
    writer.write({ threadId: thread.id, sender: as(cal!), text: "not a member", clientId: "x2" }),
    writer.write({ threadId: thread.id, sender: { id: 2_000_000_000, username: "ghost" }, text: "nobody", clientId: "x3" }),
    writer.write({ threadId: thread.id, sender: as(ben!), text: "good 2", clientId: "g2" }),
  ]);
  expect(outcomes.map((o) => (o.status === "fulfilled" ? o.value.message.seq : (o.reason as { code?: string }).code))).toEqual([1, "not_found", "not_found", "not_found", 2]);
  const orphans = await server.running.core.db.query<{ n: number }>(
    "SELECT count(*) AS n FROM messages m WHERE NOT EXISTS (SELECT 1 FROM threads t WHERE t.id = m.thread_id) OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.sender_id)",
  );
  expect(Number(orphans[0]!.n)).toBe(0);
  const history = await api(server, ann!, "GET", `/api/v1/threads/${thread.id}/messages`);
  expect(history.body.messages.map((m: { text: string }) => m.text)).toEqual(["good 1", "good 2"]);
});

test("a retried send in a batch of new ones: the retry gets its stored message back, the new ones are stored once each with the next seqs, with no gap", async () => {
  const [ann, ben] = await Promise.all(["wd", "we"].map((n) => signup(server, n)));
  const { thread } = await startThread(server, ann!, ben!);
  const published: WriteResult[] = [];
  const writer = new MessageWriter(server.running.core.db, (results) => published.push(...results));
  const as = (p: Person) => ({ id: p.id, username: p.username });
  const first = await writer.write({ threadId: thread.id, sender: as(ann!), text: "first", clientId: "r1" });
  expect(first).toMatchObject({ created: true, message: { seq: 1, text: "first" } });
  published.length = 0;

  // Issued together, so they share one transaction: the retry sits between two new sends.
  const outcomes = await Promise.all([
    writer.write({ threadId: thread.id, sender: as(ben!), text: "new from ben", clientId: "r2" }),
    writer.write({ threadId: thread.id, sender: as(ann!), text: "first, sent again", clientId: "r1" }),
    writer.write({ threadId: thread.id, sender: as(ann!), text: "second", clientId: "r3" }),
  ]);
  expect(outcomes.map((o) => [o.created, o.message.seq, o.message.text])).toEqual([
    [true, 2, "new from ben"],
    [false, 1, "first"],
    [true, 3, "second"],
  ]);
  expect(outcomes[1]!.message.id).toBe(first.message.id);
  const history = await api(server, ann!, "GET", `/api/v1/threads/${thread.id}/messages`);
  expect(history.body.messages.map((m: { seq: number; text: string }) => [m.seq, m.text])).toEqual([
    [1, "first"],
    [2, "new from ben"],
    [3, "second"],
  ]);
  expect((await api(server, ann!, "GET", `/api/v1/threads/${thread.id}`)).body.thread.lastSeq).toBe(3);
  // The new ones go out; the retry is published again (a sequencer drops the repeat).
  expect(published.map((r) => [r.message.seq, r.created])).toEqual([
    [2, true],
    [1, false],
    [3, true],
  ]);
});

test("one batch decides each send on its own: the same send twice is stored once, a block refuses only its own 1:1, and the others' seqs stay gapless", async () => {
  const [ann, ben, cat, dan] = await Promise.all(["wf", "wg", "wh", "wi"].map((n) => signup(server, n)));
  const annBen = (await startThread(server, ann!, ben!, "hello ben")).thread;
  const annCat = (await startThread(server, ann!, cat!, "hello cat")).thread;
  const danAnn = (await startThread(server, dan!, ann!, "hello ann")).thread;
  // Cat blocks Ann; Ann blocks Dan.
  expect((await api(server, cat!, "POST", "/api/v1/blocks", { username: ann!.username })).status).toBe(204);
  expect((await api(server, ann!, "POST", "/api/v1/blocks", { username: dan!.username })).status).toBe(204);
  const published: WriteResult[] = [];
  const writer = new MessageWriter(server.running.core.db, (results) => published.push(...results));
  const as = (p: Person) => ({ id: p.id, username: p.username });

  // Issued together, so they share one transaction.
  const outcomes = await Promise.allSettled([
    writer.write({ threadId: annBen.id, sender: as(ann!), text: "one", clientId: "s1" }),
    writer.write({ threadId: annCat.id, sender: as(ann!), text: "to cat", clientId: "s2" }),
    writer.write({ threadId: annBen.id, sender: as(ann!), text: "one, twice", clientId: "s1" }),
    writer.write({ threadId: danAnn.id, sender: as(ann!), text: "to dan", clientId: "s3" }),
    writer.write({ threadId: annBen.id, sender: as(ben!), text: "two", clientId: "s1" }),
  ]);
  const seen = outcomes.map((o) => (o.status === "fulfilled" ? [o.value.created, o.value.message.seq, o.value.message.text] : (o.reason as { code?: string }).code));
  expect(seen).toEqual([[true, 2, "one"], "undeliverable", [false, 2, "one"], "not_allowed", [true, 3, "two"]]);
  const [first, , again] = outcomes as PromiseFulfilledResult<WriteResult>[];
  expect(again!.value.message.id).toBe(first!.value.message.id);
  // Both members hear of it, and the thread's head moved to the last one stored.
  expect([...first!.value.members].sort()).toEqual([ann!.id, ben!.id].sort());
  expect(published.map((r) => [r.message.seq, r.created, r.thread.lastSeq])).toEqual([
    [2, true, 2],
    [2, false, 2],
    [3, true, 3],
  ]);
  const history = await api(server, ben!, "GET", `/api/v1/threads/${annBen.id}/messages`);
  expect(history.body.messages.map((m: { seq: number; text: string }) => [m.seq, m.text])).toEqual([
    [1, "hello ben"],
    [2, "one"],
    [3, "two"],
  ]);
  // Nothing was stored in the blocked 1:1s (each read by the side that did not block).
  for (const [who, id, only] of [[ann!, annCat.id, "hello cat"], [dan!, danAnn.id, "hello ann"]] as const) {
    const log = await api(server, who, "GET", `/api/v1/threads/${id}/messages`);
    expect(log.body.messages.map((m: { text: string }) => m.text)).toEqual([only]);
  }
  // Writing is reading: each one's read marker moved to their own last message, so Ann has
  // Ben's "two" unread and Ben has nothing unread.
  const thread = async (p: Person) => (await api(server, p, "GET", `/api/v1/threads/${annBen.id}`)).body.thread;
  expect((await thread(ann!)).unread).toBe(1);
  expect((await thread(ben!)).unread).toBe(0);
});

test("two instances write into the same 1:1s at once, each with its own connections: every thread gapless, each side's messages in its sending order, none lost", async () => {
  // However the two instances' batches meet, each thread's seqs come out gapless and each
  // side's in its order. (The embedded database is one connection in one process: there the
  // two writers simply take turns. The lock itself is checked by the next test.)
  const otherDb: Db = embedded ? server.running.core.db : connectPostgres(process.env.PARLEY_TEST_DATABASE_URL!, { max: 4 });
  try {
    const PAIRS = 6;
    const EACH = 60;
    const people: Person[] = await Promise.all(Array.from({ length: PAIRS * 2 }, (_, i) => signup(server, `tw${i}`)));
    const pairs = await Promise.all(
      Array.from({ length: PAIRS }, async (_, k) => {
        const [a, b] = [people[2 * k]!, people[2 * k + 1]!];
        const { thread } = await startThread(server, a, b);
        await api(server, b, "POST", `/api/v1/threads/${thread.id}/accept`);
        return { a, b, id: thread.id as number };
      }),
    );
    // Statements each writer runs: one per batch, unless a batch had to be taken back and run
    // again one send at a time (a seq taken twice would do that, and still end gapless).
    const statements = { here: 0, there: 0 };
    const counting = (db: Db, side: keyof typeof statements): Db => ({
      ...db,
      query: (text, params) => {
        statements[side]++;
        return db.query(text, params);
      },
    });
    const here = new MessageWriter(counting(server.running.core.db, "here"), () => {});
    const there = new MessageWriter(counting(otherDb, "there"), () => {});
    const writes: Promise<WriteResult>[] = [];
    for (let i = 0; i < EACH; i++) {
      for (const { a, b, id } of pairs) {
        writes.push(here.write({ threadId: id, sender: { id: a.id, username: a.username }, text: `a${i}`, clientId: `a${i}` }));
        writes.push(there.write({ threadId: id, sender: { id: b.id, username: b.username }, text: `b${i}`, clientId: `b${i}` }));
      }
    }
    const results = await Promise.all(writes);
    // All of each side's sends went in one batch, and neither was taken back and run again.
    expect(statements).toEqual({ here: 1, there: 1 });
    for (const { id } of pairs) {
      const log = results.filter((r) => r.message.threadId === id).sort((x, y) => x.message.seq - y.message.seq);
      expect(log.map((r) => r.message.seq)).toEqual(Array.from({ length: 2 * EACH }, (_, i) => i + 1));
      const texts = log.map((r) => r.message.text);
      expect(texts.filter((t) => t.startsWith("a"))).toEqual(Array.from({ length: EACH }, (_, i) => `a${i}`));
      expect(texts.filter((t) => t.startsWith("b"))).toEqual(Array.from({ length: EACH }, (_, i) => `b${i}`));
    }
    // What is stored is what was answered.
    const { a, id } = pairs[0]!;
    const history = await api(server, a, "GET", `/api/v1/threads/${id}/messages?limit=200`);
    expect(history.body.messages.map((m: { seq: number; text: string }) => `${m.seq}:${m.text}`)).toEqual(
      results.filter((r) => r.message.threadId === id).sort((x, y) => x.message.seq - y.message.seq).map((r) => `${r.message.seq}:${r.message.text}`),
    );
  } finally {
    if (otherDb !== server.running.core.db) await otherDb.close();
  }
}, 60_000);

test.skipIf(embedded)("a send waits while a membership change holds its thread, then is judged by what the change left: a member removed meanwhile is refused", async () => {
  const [alice, bob] = await Promise.all([signup(server, "lk_alice"), signup(server, "lk_bob")]);
  const { thread } = await startThread(server, alice, bob, "hello");
  const writer = new MessageWriter(server.running.core.db, () => {});
  const other = postgres(process.env.PARLEY_TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
  try {
    // Another instance's change, under the thread's lock (as chat/groups.ts takes it): alice
    // is taken out of the conversation, and the change is not committed yet.
    let sendSettled = false;
    let send: Promise<WriteResult> | null = null;
    await other.begin(async (tx) => {
      await tx`SELECT id FROM threads WHERE id = ${thread.id} FOR UPDATE`;
      await tx`DELETE FROM thread_members WHERE thread_id = ${thread.id} AND user_id = ${alice.id}`;
      send = writer.write({ threadId: thread.id, sender: { id: alice.id, username: alice.username }, text: "too late", clientId: "late" });
      send.then(() => (sendSettled = true), () => (sendSettled = true));
      await Bun.sleep(300);
      expect(sendSettled).toBe(false); // waiting for the lock
    });
    await expect(send!).rejects.toMatchObject({ code: "not_found" });
    const history = await api(server, bob, "GET", `/api/v1/threads/${thread.id}/messages?limit=200`);
    expect(history.body.messages.map((m: { text: string }) => m.text)).toEqual(["hello"]);
  } finally {
    await other.end();
  }
});
