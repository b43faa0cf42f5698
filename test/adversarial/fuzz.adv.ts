// Property and fuzz tests. Random and malformed input over the JSON API and WebSocket frames
// never gets a 500, never crashes the process and, when refused, changes nothing; and a model
// of who sent what says exactly what every participant ends up seeing, whatever the order of
// sends, drops and resumes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { api, signup, startThread, type Person } from "../helpers/client.ts";
import type { Instance } from "../helpers/cluster.ts";
import { count, flush } from "./tally.ts";
import { at, spawnWatched, storage } from "./instances.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const cleanups: (() => unknown)[] = [];
let server: Instance;
let alice: Person, bob: Person, carol: Person;
let pair: number, group: number;

beforeAll(async () => {
  server = await spawnWatched("fuzz", cleanups, { env: storage(cleanups) });
  [alice, bob, carol] = await Promise.all([signup(at(server.url), "alice"), signup(at(server.url), "bob"), signup(at(server.url), "carol")]);
  pair = (await startThread(at(server.url), alice, bob, "hello")).thread.id;
  group = (await api(at(server.url), alice, "POST", "/api/v1/threads", { participants: [bob.username, carol.username], title: "group", text: "hi all" })).body.thread.id;
}, 60_000);
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  flush();
});

// ---- what hostile input looks like ----

const nasty = fc.constantFrom("", " ", "\u0000", "a\u0000b", "\ud800", "a\udc00b", "\ufeff", "\r\n", "x".repeat(10_001), "💬".repeat(10_001), "<script>", "'; DROP TABLE messages; --", "%00", "../../etc/passwd", "__proto__", "constructor");
const text = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), nasty);
const scalar = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, 2 ** 64, -(2 ** 63), Number.MAX_VALUE, 1e308),
  fc.bigInt().map((n) => `${n}`),
);
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }), fc.dictionary(text, scalar, { maxKeys: 3 }));
/** Bodies shaped like real requests, but with every field possibly wrong. */
const shaped = fc.record(
  { text: value, clientId: value, participants: fc.oneof(fc.array(value, { maxLength: 5 }), value), title: value, username: value, password: value, readReceipts: value, showPresence: value, seq: value },
  { requiredKeys: [] },
);
/** A JSON text with a number no double can hold, or keys that poison prototypes. */
const rawJson = fc.constantFrom(
  "{",
  "[]",
  "null",
  '"text"',
  '{"text": 1e999}',
  '{"text": "\\ud800"}',
  '{"text": "a\\u0000b"}',
  '{"__proto__": {"admin": true}, "text": "x"}',
  '{"constructor": {"prototype": {"admin": true}}}',
  '{"participants": [' + '"x",'.repeat(600) + '"y"]}',
  '{"text": "' + "a".repeat(300_000) + '"}',
  "[".repeat(5000) + "]".repeat(5000),
);
const body = fc.oneof(
  { weight: 4, arbitrary: shaped.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: fc.anything().map((b) => JSON.stringify(b) ?? "undefined") },
  { weight: 2, arbitrary: rawJson },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }) }, // mostly invalid UTF-8
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const id = fc.oneof(
  fc.constantFrom("PAIR", "GROUP"),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }).map(String),
  fc.constantFrom("-1", "0", "1.5", "1e3", "0x10", "99999999999999999999", " 1", "1 ", "%00", "NaN", "Infinity", "..%2F1", "%F0%9F%92%AC", "1;DROP"),
);
const name = fc.oneof(fc.constantFrom("BOB", "..", "%00", "a".repeat(300), "%ZZ"), fc.string({ unit: "binary", maxLength: 40 }).map(encodeURIComponent));
/** Every API call that takes input, except those whose point is to end the session. */
const calls = [
  ["POST", "/api/v1/signup"],
  ["POST", "/api/v1/login"],
  ["GET", "/api/v1/threads?limit=:q&before=:q"],
  ["POST", "/api/v1/threads"],
  ["GET", "/api/v1/threads/:id"],
  ["PATCH", "/api/v1/threads/:id"],
  ["POST", "/api/v1/threads/:id/members"],
  ["GET", "/api/v1/threads/:id/messages?before=:q&limit=:q"],
  ["GET", "/api/v1/threads/:id/messages?after=:q"],
  ["POST", "/api/v1/threads/:id/messages"],
  ["POST", "/api/v1/threads/:id/read"],
  ["POST", "/api/v1/threads/:id/typing"],
  ["GET", "/api/v1/threads/:id/receipts"],
  ["GET", "/api/v1/threads/:id/presence"],
  ["GET", "/api/v1/users/:name"],
  ["POST", "/api/v1/blocks"],
  ["DELETE", "/api/v1/blocks/:name"],
  ["PATCH", "/api/v1/settings"],
] as const;
const request = fc.record({
  call: fc.constantFrom(...calls),
  id,
  name,
  q: fc.oneof(id, fc.constant("")),
  body,
  contentType: fc.constantFrom("application/json", "application/json; charset=utf-16", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", ""),
  signedIn: fc.boolean(),
});

/** What alice can see: her threads, their messages and members, her settings and blocks. */
async function snapshot(): Promise<unknown> {
  const front = at(server.url);
  const [threads, a, b, settings, blocks] = await Promise.all([
    api(front, alice, "GET", "/api/v1/threads"),
    api(front, alice, "GET", `/api/v1/threads/${pair}/messages?limit=200`),
    api(front, alice, "GET", `/api/v1/threads/${group}/messages?limit=200`),
    api(front, alice, "GET", "/api/v1/settings"),
    api(front, alice, "GET", "/api/v1/blocks"),
  ]);
  // Presence and typing come and go by themselves; they are not stored data.
  const stable = (threads.body.threads as Record<string, unknown>[]).map(({ online: _o, typing: _t, ...rest }) => rest);
  return { threads: stable, pair: a.body, group: b.body, settings: settings.body, blocks: blocks.body };
}

test(`${RUNS} random and malformed API requests: never a 500, always a coded error, and a refused one changes nothing`, async () => {
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const method: string = r.call[0];
      const template: string = r.call[1];
      const idText = r.id === "PAIR" ? String(pair) : r.id === "GROUP" ? String(group) : r.id;
      const path = template.replace(":id", idText).replace(":name", r.name === "BOB" ? bob.username : r.name).replaceAll(":q", encodeURIComponent(r.q));
      const before = await snapshot();
      const headers: Record<string, string> = {};
      if (r.signedIn) headers.authorization = `Bearer ${alice.token}`;
      if (r.contentType) headers["content-type"] = r.contentType;
      const payload = method === "GET" ? undefined : r.body;
      count("inputs");
      const response = await fetch(server.url + path, { method, headers, body: payload });
      const answer = await response.text();
      expect({ method, path, status: response.status < 500 ? "answered" : response.status }).toEqual({ method, path, status: "answered" });
      if (response.status >= 400) {
        const parsed = JSON.parse(answer);
        expect(typeof parsed.error.code).toBe("string");
        expect(parsed.error.message.length).toBeGreaterThan(0);
        count("refused");
        expect(await snapshot()).toEqual(before);
      }
    }),
    { numRuns: RUNS, endOnFailure: true },
  );
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
}, 300_000);

const frame = fc.oneof(
  fc.record(
    {
      type: fc.oneof(fc.constantFrom("send", "subscribe", "unsubscribe", "read", "typing", "ping", "feed"), text),
      threadId: fc.oneof(fc.constantFrom(0, -1, 1.5, 2 ** 53, 1e308), fc.integer(), text, fc.constant(null)),
      text: value,
      clientId: value,
      after: value,
      seq: value,
    },
    { requiredKeys: ["type"] },
  ).map((f) => JSON.stringify(f)),
  fc.anything().map((f) => JSON.stringify(f) ?? "undefined"),
  fc.string({ unit: "binary", maxLength: 100 }),
  fc.uint8Array({ maxLength: 100 }),
  fc.constantFrom("{", "", "null", "[]", '{"type":"send","threadId":PAIR,"text":"\\ud800","clientId":"x"}', '{"type":"subscribe","threadId":PAIR,"after":-5}'),
);

test(`${RUNS} random and malformed WebSocket frames: errors as frames, never 'internal', the socket lives unless the frame broke the protocol, and only acknowledged sends are stored`, async () => {
  const totalOf = async (threadId: number) => (await api(at(server.url), alice, "GET", `/api/v1/threads/${threadId}`)).body.thread.total as number;
  const totals = { pair: await totalOf(pair), group: await totalOf(group) };
  let acks = 0;
  const seen: Record<string, unknown>[] = [];
  const open = async () => {
    const ws = new WebSocket(server.url.replace("http", "ws") + "/api/v1/ws", { headers: { authorization: `Bearer ${alice.token}`, origin: server.url } } as unknown as string[]);
    ws.onmessage = (event) => {
      const parsed = JSON.parse(String(event.data));
      seen.push(parsed);
      if (parsed.type === "ack") acks++;
    };
    await new Promise((resolve) => (ws.onopen = resolve));
    return ws;
  };
  let ws = await open();
  const closes: number[] = [];
  await fc.assert(
    fc.asyncProperty(frame, async (f) => {
      if (ws.readyState !== WebSocket.OPEN) ws = await open();
      const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code), { once: true }));
      count("inputs");
      ws.send(typeof f === "string" ? f.replaceAll("PAIR", String(pair)) : f);
      // A ping afterwards: its pong says the frame before it has been handled.
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
      const pongs = seen.filter((x) => x.type === "pong").length;
      const outcome = await Promise.race([
        closed.then((code) => ({ closed: code })),
        (async () => {
          while (seen.filter((x) => x.type === "pong").length === pongs) await Bun.sleep(2);
          return { closed: 0 };
        })(),
      ]);
      if (outcome.closed) {
        closes.push(outcome.closed);
        // Only a broken protocol ends the socket: invalid UTF-8 in a text frame (1007), or a
        // frame over 64 KiB (1009).
        expect([1007, 1009]).toContain(outcome.closed);
      }
    }),
    { numRuns: RUNS, endOnFailure: true },
  );
  await Bun.sleep(500); // the last sends' acks
  ws.close();
  const refused = seen.filter((x) => x.type === "error");
  count("refused", refused.length + closes.length);
  expect(refused.filter((x) => x.code === "internal")).toEqual([]);
  for (const e of refused) expect(typeof e.message).toBe("string");
  // Stored messages grew by exactly the acknowledged sends.
  const after = { pair: await totalOf(pair), group: await totalOf(group) };
  expect(after.pair + after.group - totals.pair - totals.group).toBe(acks);
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
}, 300_000);

// ---- the model ----

interface Model {
  /** Every acknowledged message in the group, in the order the server acknowledged them. */
  log: { seq: number; text: string }[];
}
interface Viewer {
  who: Person;
  ws: WebSocket | null;
  /** Messages as they arrived, duplicates included. */
  got: { seq: number; text: string }[];
  waiting: Map<string, (f: Record<string, any>) => void>;
}
interface Real {
  threadId: number;
  viewers: Viewer[];
}

function connect(viewer: Viewer, threadId: number): Promise<void> {
  const ws = new WebSocket(server.url.replace("http", "ws") + "/api/v1/ws", { headers: { authorization: `Bearer ${viewer.who.token}`, origin: server.url } } as unknown as string[]);
  viewer.ws = ws;
  return new Promise((resolve) => {
    ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", threadId, after: viewer.got.at(-1)?.seq ?? 0 }));
    ws.onmessage = (event) => {
      const f = JSON.parse(String(event.data));
      if (f.type === "message" && f.message.threadId === threadId) viewer.got.push({ seq: f.message.seq, text: f.message.text });
      if (f.type === "subscribed") resolve();
      if ((f.type === "ack" || f.type === "error") && f.clientId) viewer.waiting.get(f.clientId)?.(f);
    };
  });
}

let sends = 0;
class SendOverSocket implements fc.AsyncCommand<Model, Real> {
  constructor(readonly who: number, readonly text: string) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const viewer = real.viewers[this.who]!;
    if (!viewer.ws || viewer.ws.readyState !== WebSocket.OPEN) await connect(viewer, real.threadId);
    const clientId = `m${++sends}`;
    const answer = new Promise<Record<string, any>>((resolve) => viewer.waiting.set(clientId, resolve));
    viewer.ws!.send(JSON.stringify({ type: "send", threadId: real.threadId, text: this.text, clientId }));
    const f = await answer;
    count("inputs");
    expect(f.type).toBe("ack");
    count("acknowledged");
    model.log.push({ seq: f.message.seq, text: this.text });
  }
  toString = () => `ws-send(${this.who}, ${JSON.stringify(this.text)})`;
}
class SendOverHttp implements fc.AsyncCommand<Model, Real> {
  constructor(readonly who: number, readonly text: string, readonly twice: boolean) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const clientId = `h${++sends}`;
    const post = () => api(at(server.url), real.viewers[this.who]!.who, "POST", `/api/v1/threads/${real.threadId}/messages`, { text: this.text, clientId });
    const first = await post();
    count("inputs");
    expect(first.status).toBe(201);
    // A retry of the same send (the answer was lost, say) is the same message, not a new one.
    if (this.twice) expect((await post()).body.message.seq).toBe(first.body.message.seq);
    count("acknowledged");
    model.log.push({ seq: first.body.message.seq, text: this.text });
  }
  toString = () => `http-send(${this.who}, ${JSON.stringify(this.text)}${this.twice ? ", twice" : ""})`;
}
class Drop implements fc.AsyncCommand<Model, Real> {
  constructor(readonly who: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const viewer = real.viewers[this.who]!;
    if (!viewer.ws) return;
    const closed = new Promise((resolve) => viewer.ws!.addEventListener("close", resolve, { once: true }));
    viewer.ws.close();
    await closed;
    viewer.ws = null;
  }
  toString = () => `drop(${this.who})`;
}
class Resume implements fc.AsyncCommand<Model, Real> {
  constructor(readonly who: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const viewer = real.viewers[this.who]!;
    if (viewer.ws && viewer.ws.readyState === WebSocket.OPEN) return;
    await connect(viewer, real.threadId);
  }
  toString = () => `resume(${this.who})`;
}

test("a stateful model: random sends (socket and HTTP, retried), drops and resumes by three people; at the end each one's view is the model's", async () => {
  const who = fc.integer({ min: 0, max: 2 });
  const words = fc.oneof(fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== ""), fc.constantFrom("emoji 💬", "line\nbreak", "tab\there"));
  const commands = [
    who.chain((w) => words.map((t) => new SendOverSocket(w, t))),
    fc.tuple(who, words, fc.boolean()).map(([w, t, twice]) => new SendOverHttp(w, t, twice)),
    who.map((w) => new Drop(w)),
    who.map((w) => new Resume(w)),
  ];
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
      const people = [alice, bob, carol];
      const threadId = (await api(at(server.url), alice, "POST", "/api/v1/threads", { participants: [bob.username, carol.username], title: "model" })).body.thread.id as number;
      const real: Real = { threadId, viewers: people.map((p) => ({ who: p, ws: null, got: [], waiting: new Map() })) };
      for (const v of real.viewers) await connect(v, threadId);
      // The model starts from what creating the group stored (its first line, if any).
      const start = (await api(at(server.url), alice, "GET", `/api/v1/threads/${threadId}/messages`)).body.messages as { seq: number; text: string }[];
      const model: Model = { log: start.map(({ seq, text }) => ({ seq, text })) };
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      // Everyone comes back and catches up.
      for (const v of real.viewers) if (!v.ws || v.ws.readyState !== WebSocket.OPEN) await connect(v, threadId);
      const deadline = Date.now() + 10_000;
      while (real.viewers.some((v) => v.got.length < model.log.length) && Date.now() < deadline) await Bun.sleep(10);
      for (const v of real.viewers) v.ws?.close();
      const lost = Math.max(0, ...real.viewers.map((v) => model.log.filter((m) => !v.got.some((g) => g.seq === m.seq)).length));
      count("lost", lost);
      expect(model.log.map((m) => m.seq)).toEqual(model.log.map((_, i) => i + 1));
      for (const v of real.viewers) expect(v.got).toEqual(model.log);
    }),
    { numRuns: Math.max(5, Math.round(RUNS / 15)), endOnFailure: true },
  );
}, 300_000);
