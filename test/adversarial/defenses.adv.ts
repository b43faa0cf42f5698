// Each defense, with a test that tries to get past it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { embedded, startServer, withRedis, type TestServer } from "../helpers/server.ts";
import { api, signup, SocketClient, startThread, uniqueName, type Person } from "../helpers/client.ts";
import { SseClient } from "../helpers/sse.ts";
import { NoJsBrowser } from "../helpers/browser-nojs.ts";
import { count, flush } from "./tally.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
  flush();
});

/** Two people who have talked, and their 1:1. */
async function friends(s: TestServer = server): Promise<[Person, Person, number]> {
  const [alice, bob] = await Promise.all([signup(s, "alice"), signup(s, "bob")]);
  const { thread } = await startThread(s, alice, bob, "hello");
  await api(s, bob, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "hi" });
  return [alice, bob, thread.id];
}

const upgrade = (s: TestServer, headers: Record<string, string>) =>
  fetch(`${s.url}/api/v1/ws`, { headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", ...headers } });

describe("Origin", () => {
  test("cookie sockets and streams from a foreign, null, look-alike or missing Origin are refused with 403", async () => {
    const [alice, , threadId] = await friends();
    const own = server.origin;
    const port = new URL(own).port;
    const foreign = [
      "http://evil.example",
      "null",
      `${own}.evil.example`,
      `http://evil.example/${own}`,
      `${own}@evil.example`,
      own.replace("http:", "https:"),
      own.replace(port, String(Number(port) + 1)),
      `http://localhost:${port}`,
      own.toUpperCase(),
      "",
    ];
    const cookie = `parley_session=${alice.token}`;
    for (const origin of foreign) {
      count("inputs", 2);
      const ws = await upgrade(server, { cookie, origin });
      expect({ origin, status: ws.status }).toEqual({ origin, status: 403 });
      const sse = await SseClient.open(server, null, `/api/v1/threads/${threadId}/events`, { cookie, origin });
      expect({ origin, status: sse.status }).toEqual({ origin, status: 403 });
      count("refused", 2);
    }
    count("inputs", 2);
    expect((await upgrade(server, { cookie })).status).toBe(403);
    expect((await SseClient.open(server, null, `/api/v1/threads/${threadId}/events`, { cookie })).status).toBe(403);
    count("refused", 2);
    expect((await upgrade(server, { cookie, origin: own })).status).toBe(101);
  });
});

describe("CSRF", () => {
  test("every state-changing form refuses a missing, wrong or other session's token, and a foreign page; nothing changes", async () => {
    const [alice, bob, threadId] = await friends();
    const page = new NoJsBrowser(server);
    page.cookies.set("parley_session", alice.token);
    await page.get("/messages");
    const good = page.csrfToken();
    const other = new NoJsBrowser(server);
    other.cookies.set("parley_session", bob.token);
    await other.get("/messages");
    const bobs = other.csrfToken();
    const group = (await api(server, alice, "POST", "/api/v1/threads", { participants: [bob.username, (await signup(server, "c")).username], title: "g" })).body.thread.id;
    const forms: [string, Record<string, string>][] = [
      ["/messages", { to: bob.username, text: "forged" }],
      ["/groups", { title: "forged", members: bob.username }],
      [`/chat/${threadId}/messages`, { text: "forged" }],
      [`/chat/${group}/members`, { username: "someone" }],
      [`/chat/${group}/rename`, { title: "forged" }],
      [`/chat/${group}/leave`, {}],
      [`/chat/${threadId}/decline`, {}],
      ["/blocks", { username: bob.username }],
      [`/blocks/${bob.username}/delete`, {}],
      ["/settings", { readReceipts: "0", showPresence: "0" }],
      ["/logout", {}],
      ["/logout-everywhere", {}],
      ["/lang", { lang: "ru" }],
    ];
    for (const [path, fields] of forms) {
      for (const attempt of [{ csrf: null }, { csrf: "x".repeat(good.length) }, { csrf: bobs }, { origin: "http://evil.example", csrf: good }, { origin: null, csrf: good }]) {
        count("inputs");
        const res = await page.post(path, fields, attempt);
        expect({ path, attempt, status: res.status }).toEqual({ path, attempt, status: 403 });
        count("refused");
      }
    }
    // GET never changes anything (some of these paths are also pages; none acts on a GET).
    for (const [path] of forms) {
      count("inputs");
      await page.get(path);
    }
    // Nothing happened: the session lives, nothing was sent, blocked, renamed or left.
    expect((await api(server, alice, "GET", "/api/v1/me")).status).toBe(200);
    expect((await api(server, alice, "GET", `/api/v1/threads/${threadId}/messages`)).body.messages.map((m: { text: string }) => m.text)).toEqual(["hello", "hi"]);
    expect((await api(server, alice, "GET", "/api/v1/blocks")).body.blocked).toEqual([]);
    const after = (await api(server, alice, "GET", `/api/v1/threads/${group}`)).body.thread;
    expect({ title: after.title, members: after.participants.length }).toEqual({ title: "g", members: 3 });
    expect((await api(server, alice, "GET", "/api/v1/settings")).body.settings).toEqual({ readReceipts: true, showPresence: true });
    expect((await api(server, alice, "GET", "/api/v1/threads")).body.threads.length).toBe(2);
    // The login form is protected too (login CSRF).
    const stranger = new NoJsBrowser(server);
    await stranger.get("/login");
    count("inputs");
    expect((await stranger.post("/login", { username: alice.username, password: alice.password }, { origin: "http://evil.example" })).status).toBe(403);
    count("refused");
    expect((await stranger.post("/login", { username: alice.username, password: alice.password }, { csrf: null })).status).toBe(403);
    count("refused");
  });

  test.skipIf(embedded || !withRedis)("a form's token from one instance is good on another (no per-process secret)", async () => {
    const other = await startServer();
    try {
      const [alice, bob] = await friends();
      const pageA = new NoJsBrowser(server);
      pageA.cookies.set("parley_session", alice.token);
      await pageA.get("/messages");
      const token = pageA.csrfToken();
      const onB = new NoJsBrowser(other);
      onB.cookies.set("parley_session", alice.token);
      const res = await onB.post("/messages", { to: bob.username, text: "via B" }, { csrf: token, origin: other.origin });
      expect(res.status).toBe(303);
    } finally {
      await other.stop();
    }
  });
});

const PAYLOADS = [`<script>alert("x")</script>`, `"><img src=x onerror=alert(1)>`, `</textarea><svg onload=alert(1)>`, `{{7*7}}<b>bold</b>`, `javascript:alert(1)`];
const DANGEROUS = [/<script>alert/i, /<img src=x/i, /<svg onload/i, /<b>bold<\/b>/];

describe("XSS", () => {
  test("no user text executes: pages, fragments, socket and stream frames, error pages; headers forbid the rest", async () => {
    const [alice, bob, threadId] = await friends();
    const group = (await api(server, alice, "POST", "/api/v1/threads", { participants: [bob.username, (await signup(server, "c")).username], title: PAYLOADS[1] })).body.thread.id;
    const html = await SocketClient.open(server, bob, { view: "html" });
    await html.subscribe(threadId);
    const stream = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events?view=html`);
    await stream.next((e) => e.event === "subscribed");
    for (const text of PAYLOADS) {
      count("inputs");
      expect((await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text })).status).toBe(201);
    }
    await html.until(() => html.messagesOf(threadId).length === PAYLOADS.length);
    await stream.until((e) => e.filter((x) => x.event === "message").length === PAYLOADS.length);
    const bodies: [string, string][] = [];
    for (const f of html.messagesOf(threadId)) bodies.push(["ws html frame", f.html]);
    for (const e of stream.events.filter((x) => x.event === "message")) bodies.push(["sse html frame", e.json.html]);
    const page = new NoJsBrowser(server);
    page.cookies.set("parley_session", bob.token);
    for (const path of [`/chat/${threadId}`, `/chat/${group}`, "/messages", `/chat/${threadId}/messages?before=99`]) {
      const res = await page.get(path);
      bodies.push([path, page.lastHtml]);
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("same-origin");
    }
    // Error pages and form errors that repeat what was typed.
    await page.get("/messages");
    await page.post("/messages", { to: PAYLOADS[0]!, text: PAYLOADS[2]! });
    bodies.push(["new message error", page.lastHtml]);
    await page.post(`/chat/${threadId}/messages`, { text: `${PAYLOADS[0]}${"x".repeat(10_001)}` });
    bodies.push(["compose error", page.lastHtml]);
    await page.get(`/u/${encodeURIComponent(PAYLOADS[0]!)}`);
    bodies.push(["profile 404", page.lastHtml]);
    for (const [where, body] of bodies) {
      // Inside a double-quoted attribute `<` is only text; what matters is that nothing breaks
      // out of one (a `"` would end it early and leave the rest as markup).
      const markup = body.replace(/="[^"]*"/g, '=""');
      for (const danger of DANGEROUS) expect({ where, raw: danger.test(markup) }).toEqual({ where, raw: false });
      // No inline script anywhere: every <script> loads a file.
      expect({ where, inline: /<script(?![^>]*\bsrc=)[^>]*>/i.test(markup) }).toEqual({ where, inline: false });
    }
    expect(bodies.some(([, b]) => b.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") || b.includes("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"))).toBe(true);
    count("refused", bodies.length);
    html.close();
    stream.close();
  });
});

describe("SSE field injection", () => {
  test("CR, LF and their pairs in a message cannot end its event early; NUL is refused with a clear error", async () => {
    const [alice, bob, threadId] = await friends();
    const stream = await SseClient.open(server, bob, `/api/v1/threads/${threadId}/events`);
    await stream.next((e) => e.event === "subscribed");
    const tricks = ["a\r\n\r\nevent: evil\ndata: {}\n\n", "b\revent: evil\r", "c\n\nid: 999999\n", "d\u2028e\u2029f", "x\n\n\ny"];
    for (const text of tricks) {
      count("inputs");
      expect((await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text })).status).toBe(201);
    }
    await stream.until((e) => e.filter((x) => x.event === "message").length === tricks.length);
    expect(stream.events.filter((e) => e.event === "evil")).toEqual([]);
    expect(stream.messages().map((m) => m.text)).toEqual(tricks);
    expect(stream.events.filter((e) => e.event === "message").map((e) => e.id)).toEqual(["3", "4", "5", "6", "7"]);
    count("refused", tricks.length);
    count("inputs");
    const nul = await api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, { text: "a\u0000b" });
    expect(nul.status).toBe(422);
    expect(nul.body.error.code).toBe("invalid_text");
    count("refused");
    stream.close();
  });
});

/** A client address of its own, so limits spent by one test (or instance) do not meet another's. */
const fromAddress = () => ({ "x-forwarded-for": `10.${Array.from(crypto.getRandomValues(new Uint8Array(3))).join(".")}` });

describe("authentication", () => {
  test("a new session at every login (no fixation), and 'log out everywhere' ends every session", async () => {
    const [alice] = await friends();
    // An attacker plants a session id of their choosing, hoping the victim's login adopts it.
    const planted = "a".repeat(40);
    const page = new NoJsBrowser(server);
    page.cookies.set("parley_session", planted);
    await page.get("/login");
    expect((await page.post("/login", { username: alice.username, password: alice.password })).status).toBe(303);
    const fresh = page.cookies.get("parley_session")!;
    expect(fresh).not.toBe(planted);
    count("inputs");
    expect((await api(server, { ...alice, token: planted }, "GET", "/api/v1/me")).status).toBe(401);
    count("refused");
    expect((await api(server, { ...alice, token: fresh }, "GET", "/api/v1/me")).body.user.username).toBe(alice.username);
    const second = (await api(server, null, "POST", "/api/v1/login", { username: alice.username, password: alice.password })).body.token as string;
    const socket = await SocketClient.open(server, { ...alice, token: second });
    expect((await api(server, { ...alice, token: fresh }, "POST", "/api/v1/logout-all")).status).toBe(204);
    for (const token of [fresh, second]) {
      count("inputs");
      expect((await api(server, { ...alice, token }, "GET", "/api/v1/me")).status).toBe(401);
      count("refused");
    }
    expect((await socket.closed).code).toBe(4401);
  });

  test.skipIf(embedded || !withRedis)("logout and 'log out everywhere' end sessions on every instance, sockets included", async () => {
    const other = await startServer();
    try {
      const [alice] = await friends();
      const second = (await api(server, null, "POST", "/api/v1/login", { username: alice.username, password: alice.password })).body.token as string;
      // Both sessions in use on B, so B has them in its cache.
      expect((await api(other, alice, "GET", "/api/v1/me")).status).toBe(200);
      expect((await api(other, { ...alice, token: second }, "GET", "/api/v1/me")).status).toBe(200);
      const onB = await SocketClient.open(other, { ...alice, token: second });
      // Logout on A ends that one session on B as soon as B hears of it through Redis (a
      // broadcast, milliseconds), not when B's 5-second session cache would have expired.
      const refusedOnB = async (token: string) => {
        const deadline = Date.now() + 1000;
        while ((await api(other, { ...alice, token }, "GET", "/api/v1/me")).status !== 401) {
          if (Date.now() > deadline) return false;
          await Bun.sleep(10);
        }
        return true;
      };
      expect((await api(server, alice, "POST", "/api/v1/logout")).status).toBe(204);
      count("inputs");
      expect(await refusedOnB(alice.token)).toBe(true);
      count("refused");
      expect((await api(other, { ...alice, token: second }, "GET", "/api/v1/me")).status).toBe(200);
      const third = (await api(other, null, "POST", "/api/v1/login", { username: alice.username, password: alice.password })).body.token as string;
      expect((await api(server, { ...alice, token: third }, "POST", "/api/v1/logout-all")).status).toBe(204);
      for (const token of [second, third]) {
        count("inputs");
        expect(await refusedOnB(token)).toBe(true);
        count("refused");
      }
      expect((await onB.closed).code).toBe(4401);
    } finally {
      await other.stop();
    }
  });

  test("a login for a name that does not exist takes as long as a wrong password (no enumeration by timing)", async () => {
    const [alice] = await friends();
    const timed = async (username: string) => {
      const started = performance.now();
      const res = await api(server, null, "POST", "/api/v1/login", { username, password: "wrong password" }, fromAddress());
      expect(res.status).toBe(401);
      return performance.now() - started;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 6; i++) {
      known.push(await timed(alice.username));
      unknown.push(await timed(uniqueName("ghost")));
    }
    count("inputs", 12);
    count("refused", 12);
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
    // Without the decoy hash, an unknown name answers in about a millisecond against tens for
    // argon2id: a gap of an order of magnitude, not noise.
    expect(median(unknown) / median(known)).toBeGreaterThan(0.5);
  });

  test("login and signup do not tell which names exist (beyond signup's 'taken')", async () => {
    const [alice] = await friends();
    const wrong = await api(server, null, "POST", "/api/v1/login", { username: alice.username, password: "wrong password" });
    const missing = await api(server, null, "POST", "/api/v1/login", { username: uniqueName("ghost"), password: "wrong password" });
    expect(wrong.status).toBe(missing.status);
    expect(wrong.body).toEqual(missing.body);
    const names = (h: Headers) => [...(h as unknown as Iterable<[string, string]>)].map(([k]) => k).sort();
    expect(names(wrong.headers)).toEqual(names(missing.headers));
    count("inputs", 2);
    count("refused", 2);
  });
});

describe("rate limits", () => {
  let strict: TestServer;
  beforeAll(async () => {
    strict = await startServer({ env: { RATE_LIMIT_SCALE: "1" } });
  });
  afterAll(() => strict.stop());

  test("logins per account and per address, signups per address: 429 with Retry-After", async () => {
    const address = fromAddress();
    const alice = await signup(strict, "alice", address);
    let limited = 0;
    for (let i = 0; i < 12; i++) {
      count("inputs");
      const res = await api(strict, null, "POST", "/api/v1/login", { username: alice.username, password: `guess ${i}` }, address);
      if (res.status === 429) {
        limited++;
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(res.body.error.code).toBe("rate_limited");
        count("refused");
      } else expect(res.status).toBe(401);
    }
    expect(limited).toBeGreaterThanOrEqual(2);
    // Even the right password waits: the account's limit is spent.
    expect((await api(strict, null, "POST", "/api/v1/login", { username: alice.username, password: alice.password })).status).toBe(429);
    // Guessing many accounts from one address: 30 at once, then the address waits.
    const sprayer = fromAddress();
    const spray: number[] = [];
    for (let i = 0; i < 32; i++) {
      count("inputs");
      spray.push((await api(strict, null, "POST", "/api/v1/login", { username: uniqueName("nobody"), password: "password1" }, sprayer)).status);
    }
    expect(spray.slice(0, 30).every((c) => c === 401)).toBe(true);
    expect(spray.slice(30)).toEqual([429, 429]);
    count("refused", 2);
    // Signups from one address: a burst of 5 (alice took one), then one every 3 minutes.
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      count("inputs");
      codes.push((await api(strict, null, "POST", "/api/v1/signup", { username: uniqueName("spam"), password: "password1" }, address)).status);
    }
    expect(codes).toEqual([201, 201, 201, 201, 429, 429]);
    count("refused", codes.filter((c) => c === 429).length);
  });

  test("messages per person per second with a burst, and new conversations: 429 over HTTP, an error frame over WebSocket", async () => {
    const fresh = await startServer({ env: { RATE_LIMIT_SCALE: "1" } });
    try {
      const alice = await signup(fresh, "alice", fromAddress());
      const people = await Promise.all(Array.from({ length: 3 }, () => signup(fresh, "p", fromAddress())));
      const { thread } = await startThread(fresh, alice, people[0]!);
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => api(fresh, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: `burst ${i}` })));
      count("inputs", 40);
      const refused = results.filter((r) => r.status === 429);
      expect(refused.length).toBeGreaterThanOrEqual(5);
      expect(results.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(25);
      count("refused", refused.length);
      const socket = await SocketClient.open(fresh, alice);
      for (let i = 0; i < 10; i++) socket.send({ type: "send", threadId: thread.id, text: `ws ${i}`, clientId: `w${i}` });
      const frame = await socket.next((f) => f.type === "error" && f.code === "rate_limited");
      expect(frame.retryAfter).toBeGreaterThan(0);
      count("inputs", 10);
      count("refused");
      // Every send is answered (an ack or an error) before the socket goes: one closed sooner
      // could lose the ack of a send that was stored.
      await socket.until((frames) => frames.filter((f) => (f.type === "ack" || f.type === "error") && typeof f.clientId === "string").length === 10);
      socket.close();
      // Stored messages are exactly the accepted ones.
      const accepted = results.filter((r) => r.status === 201).length + socket.frames.filter((f) => f.type === "ack").length;
      expect((await api(fresh, people[0]!, "GET", `/api/v1/threads/${thread.id}`)).body.thread.total).toBe(accepted);
    } finally {
      await fresh.stop();
    }
  });

  test("new conversations per person: 20 at once, then 429; opening one that exists does not count", async () => {
    const fresh = await startServer({ env: { RATE_LIMIT_SCALE: "1" } });
    try {
      const alice = await signup(fresh, "alice", fromAddress());
      const people: Person[] = [];
      for (let i = 0; i < 21; i++) people.push(await signup(fresh, "p", fromAddress()));
      const codes: number[] = [];
      for (const p of people.slice(0, 20)) {
        count("inputs");
        codes.push((await api(fresh, alice, "POST", "/api/v1/threads", { participants: [p.username] })).status);
      }
      expect(codes.every((c) => c === 201)).toBe(true);
      const last = await api(fresh, alice, "POST", "/api/v1/threads", { participants: [people[20]!.username] });
      expect({ status: last.status, code: last.body.error.code }).toEqual({ status: 429, code: "rate_limited" });
      expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
      count("refused", 2);
      // The refused one was not made; the ones that exist still open, and messages flow in them.
      expect((await api(fresh, alice, "GET", "/api/v1/threads")).body.threads.length).toBe(20);
      expect((await api(fresh, alice, "POST", "/api/v1/threads", { participants: [people[0]!.username], text: "again" })).status).toBe(200);
    } finally {
      await fresh.stop();
    }
  });

  test("changing a group counts: renames and removals as messages, adds as new conversations too; leaving is never refused", async () => {
    const fresh = await startServer({ env: { RATE_LIMIT_SCALE: "1" } });
    try {
      const alice = await signup(fresh, "alice", fromAddress());
      const people: Person[] = [];
      for (let i = 0; i < 21; i++) people.push(await signup(fresh, "p", fromAddress()));
      const created = await api(fresh, alice, "POST", "/api/v1/threads", { participants: [people[0]!.username], title: "club" });
      expect(created.status).toBe(201);
      const group = created.body.thread.id as number;
      // The group took one of alice's 20 new conversations; each add takes another.
      const adds: number[] = [];
      for (const p of people.slice(1, 21)) {
        count("inputs");
        adds.push((await api(fresh, alice, "POST", `/api/v1/threads/${group}/members`, { username: p.username })).status);
      }
      expect(adds.slice(0, 19).every((c) => c === 201)).toBe(true);
      expect(adds[19]).toBe(429);
      count("refused");
      // Renames in a burst: the rest of the 30-message burst goes, then 429s, and only the
      // accepted ones left a line in the group.
      const renames = await Promise.all(Array.from({ length: 30 }, (_, i) => api(fresh, alice, "PATCH", `/api/v1/threads/${group}`, { title: `club ${i}` })));
      count("inputs", 30);
      const refused = renames.filter((r) => r.status === 429);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((r) => r.body.error.code === "rate_limited" && Number(r.headers.get("retry-after")) > 0)).toBe(true);
      count("refused", refused.length);
      const accepted = renames.filter((r) => r.status === 200).length;
      expect(accepted + refused.length).toBe(30);
      // Removals in a burst right after: refused too.
      const removals = (
        await Promise.all(people.slice(1, 20).map((p) => api(fresh, alice, "DELETE", `/api/v1/threads/${group}/members/${p.username}`)))
      ).map((res) => ({ status: res.status, code: res.body?.error?.code as string | undefined }));
      count("inputs", removals.length);
      const refusedRemovals = removals.filter((r) => r.status === 429);
      expect(refusedRemovals.length).toBeGreaterThan(0);
      expect(refusedRemovals.every((r) => r.code === "rate_limited")).toBe(true);
      expect(removals.every((r) => r.status === 200 || r.status === 429)).toBe(true);
      count("refused", refusedRemovals.length);
      const history = await api(fresh, people[0]!, "GET", `/api/v1/threads/${group}/messages?limit=100`);
      const lines = (type: string) => history.body.messages.filter((m: { event?: { type: string } }) => m.event?.type === type).length;
      expect(lines("renamed")).toBe(accepted);
      expect(lines("member_removed")).toBe(removals.length - refusedRemovals.length);
      // With the limit spent, alice can still leave.
      count("inputs");
      expect((await api(fresh, alice, "DELETE", `/api/v1/threads/${group}/members/${alice.username}`)).status).toBe(200);
      expect((await api(fresh, alice, "GET", `/api/v1/threads/${group}`)).status).toBe(404);
    } finally {
      await fresh.stop();
    }
  });

  test("a flood from one person is refused without holding up anyone else's messages", async () => {
    const fresh = await startServer({ env: { RATE_LIMIT_SCALE: "1" } });
    try {
      const [mallory, alice, bob] = (await Promise.all(["mallory", "alice", "bob"].map((n) => signup(fresh, n, fromAddress())))) as [Person, Person, Person];
      const victim = (await startThread(fresh, mallory, bob)).thread.id;
      const { thread } = await startThread(fresh, alice, bob);
      const watcher = await SocketClient.open(fresh, bob);
      await watcher.subscribe(thread.id);
      // 32 requests at a time from mallory, for as long as alice is talking.
      let flooding = true;
      const answers: number[] = [];
      const started = Date.now();
      const flood = Promise.all(
        Array.from({ length: 32 }, async (_, w) => {
          for (let i = 0; flooding; i++) answers.push((await api(fresh, mallory, "POST", `/api/v1/threads/${victim}/messages`, { text: `spam ${w}.${i}` })).status);
        }),
      );
      await Bun.sleep(200);
      const acks: number[] = [];
      for (let i = 0; i < 5; i++) acks.push((await api(fresh, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: `hello ${i}` })).status);
      await watcher.until(() => watcher.messagesOf(thread.id).length === 5);
      flooding = false;
      await flood;
      const seconds = (Date.now() - started) / 1000;
      count("inputs", answers.length + 5);
      count("refused", answers.filter((c) => c === 429).length);
      // alice's messages all went through, in order, while the flood was on.
      expect(acks).toEqual([201, 201, 201, 201, 201]);
      expect(watcher.messagesOf(thread.id).map((f) => f.message.text)).toEqual([0, 1, 2, 3, 4].map((i) => `hello ${i}`));
      // mallory got her burst and her rate through, the rest were refused, and nothing erred.
      expect(answers.length).toBeGreaterThan(100);
      expect(answers.filter((c) => c === 201).length).toBeLessThanOrEqual(30 + Math.ceil(10 * seconds) + 1);
      expect(answers.every((c) => c === 201 || c === 429)).toBe(true);
      watcher.close();
    } finally {
      await fresh.stop();
    }
  });

  test("sockets per person, subscriptions per socket, event streams per person", async () => {
    const [alice, , threadId] = await friends();
    const sockets: SocketClient[] = [];
    for (let i = 0; i < 50; i++) sockets.push(await SocketClient.open(server, alice));
    count("inputs");
    const over = await upgrade(server, { authorization: `Bearer ${alice.token}`, origin: server.origin });
    expect(over.status).toBe(429);
    expect(over.headers.get("retry-after")).toBe("30");
    count("refused");
    for (const s of sockets.slice(1)) s.close();
    const one = sockets[0]!;
    for (let i = 0; i < 101; i++) one.send({ type: "subscribe", threadId });
    // Subscribing again to the same thread replaces the subscription: still one.
    await one.until((f) => f.filter((x) => x.type === "subscribed").length === 101);
    // 99 more threads fill the socket's 100 subscriptions; the 101st is refused, and the
    // socket lives on with the ones it has.
    const [bob, carol] = await Promise.all([signup(server, "bob"), signup(server, "carol")]);
    const groups: number[] = [];
    for (let i = 0; i < 100; i++) groups.push((await api(server, alice, "POST", "/api/v1/threads", { participants: [bob.username, carol.username], title: `g${i}` })).body.thread.id);
    for (const id of groups.slice(0, 99)) await one.subscribe(id);
    count("inputs");
    one.send({ type: "subscribe", threadId: groups[99] });
    const refused = await one.next((f) => f.type === "error" && f.threadId === groups[99]);
    expect(refused.message).toContain("at most 100");
    count("refused");
    await api(server, bob, "POST", `/api/v1/threads/${groups[0]}/messages`, { text: "still following" });
    expect((await one.next((f) => f.type === "message" && f.message.threadId === groups[0])).message.text).toBe("still following");
    const streams: SseClient[] = [];
    for (let i = 0; i < 20; i++) streams.push(await SseClient.open(server, alice, `/api/v1/threads/${threadId}/events`));
    count("inputs");
    const extra = await SseClient.open(server, alice, `/api/v1/threads/${threadId}/events`);
    expect(extra.status).toBe(429);
    count("refused");
    for (const s of streams) s.close();
    one.close();
  });
});
