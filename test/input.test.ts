// Bad input, from the API and the socket: each gets its own clear error, the socket stays
// usable, and the stored conversation is exactly what it was before.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread, uniqueName, type Person } from "./helpers/client.ts";
import { limitKey } from "../src/web/address.ts";

let server: TestServer;
let alice: Person, bob: Person;
let threadId: number;

beforeAll(async () => {
  server = await startServer();
});
beforeEach(async () => {
  [alice, bob] = await Promise.all([signup(server, "alice"), signup(server, "bob")]);
  threadId = (await startThread(server, alice, bob, "the only message")).thread.id;
});
afterAll(() => server.stop());

async function stored(): Promise<unknown[]> {
  const res = await api(server, alice, "GET", `/api/v1/threads/${threadId}/messages?limit=200`);
  return res.body.messages;
}

const post = (body: unknown, headers?: Record<string, string>) => api(server, alice, "POST", `/api/v1/threads/${threadId}/messages`, body, headers);

describe("sending through the API", () => {
  test("empty, white space only, too long, NUL and broken Unicode are refused with their own code", async () => {
    const before = await stored();
    const cases: [unknown, number, string][] = [
      [{ text: "" }, 422, "empty_message"],
      [{ text: "  \n\t \u00a0 " }, 422, "empty_message"],
      [{ text: "x".repeat(10_001) }, 422, "message_too_long"],
      [{ text: "😀".repeat(10_001) }, 422, "message_too_long"],
      [{ text: "a\u0000b" }, 422, "invalid_text"],
      ['{"text":"lone \\ud800 surrogate"}', 422, "invalid_text"],
      [{ text: 42 }, 400, "bad_request"],
      [{ text: ["a"] }, 400, "bad_request"],
      [{}, 400, "bad_request"],
      [{ text: "ok", clientId: "has spaces in it" }, 400, "bad_request"],
      [{ text: "ok", clientId: 7 }, 400, "bad_request"],
      ["{not json", 400, "bad_request"],
    ];
    for (const [body, status, code] of cases) {
      const res = await post(body);
      expect({ body, status: res.status, code: res.body?.error?.code }).toEqual({ body, status, code });
      expect(typeof res.body.error.message).toBe("string");
      expect(res.body.error.message.length).toBeGreaterThan(5);
    }
    expect(await stored()).toEqual(before);
  });

  test("10,000 characters of emoji or Cyrillic are accepted whole", async () => {
    for (const text of ["😀".repeat(10_000), "щ".repeat(10_000), "я😀".repeat(5_000)]) {
      const res = await post({ text });
      expect(res.status).toBe(201);
      expect(res.body.message.text).toBe(text);
    }
    const texts = (await stored()).map((m) => (m as { text: string }).text);
    expect(texts.slice(1).map((t) => [...t].length)).toEqual([10_000, 10_000, 10_000]);
  });

  test("an oversized body is refused with 413 and stores nothing, with or without a Content-Length", async () => {
    const before = await stored();
    const res = await post({ text: "x".repeat(300_000) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
    // Streamed (chunked, no length given): counted as it arrives.
    const big = new TextEncoder().encode(JSON.stringify({ text: "x".repeat(300_000) }));
    const chunked = await fetch(`${server.url}/api/v1/threads/${threadId}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/json" },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < big.length; i += 16_384) c.enqueue(big.subarray(i, i + 16_384));
          c.close();
        },
      }),
    });
    expect(chunked.status).toBe(413);
    expect((await chunked.json()).error.code).toBe("payload_too_large");
    // A small chunked body is fine.
    const small = new TextEncoder().encode(JSON.stringify({ text: "streamed" }));
    const ok = await fetch(`${server.url}/api/v1/threads/${threadId}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/json" },
      body: new ReadableStream({
        start(c) {
          c.enqueue(small);
          c.close();
        },
      }),
    });
    expect(ok.status).toBe(201);
    expect((await stored()).map((m) => (m as { text: string }).text)).toEqual([...before.map((m) => (m as { text: string }).text), "streamed"]);
  });

  test("a body neither JSON nor a form (multipart, plain text) is refused with 415 and stores nothing", async () => {
    const before = await stored();
    const form = new FormData();
    form.set("text", "sent as multipart");
    const bodies: [BodyInit, Record<string, string>][] = [
      [form, {}],
      ["text=sent as plain text", { "content-type": "text/plain" }],
      [JSON.stringify({ text: "sent as octets" }), { "content-type": "application/octet-stream" }],
    ];
    for (const [body, headers] of bodies) {
      const res = await fetch(`${server.url}/api/v1/threads/${threadId}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${alice.token}`, ...headers },
        body,
      });
      expect({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }).toEqual({
        status: 415,
        code: "unsupported_media_type",
      });
    }
    expect(await stored()).toEqual(before);
  });

  test("malformed ids and cursors are a 404 or a 400, never a 500", async () => {
    for (const id of ["abc", "-1", "1.5", "0", "99999999999999999999", "1e3", "%00"]) {
      const res = await api(server, alice, "GET", `/api/v1/threads/${id}/messages`);
      expect({ id, status: res.status }).toEqual({ id, status: 404 });
    }
    for (const q of ["after=abc", "after=-1", "before=0", "limit=0", "limit=201", "limit=1.5", "after=1&before=5"]) {
      const res = await api(server, alice, "GET", `/api/v1/threads/${threadId}/messages?${q}`);
      expect({ q, status: res.status, code: res.body.error?.code }).toEqual({ q, status: 400, code: "bad_request" });
    }
    for (const seq of [-1, 1.5, "3", null, 2 ** 40]) {
      const res = await api(server, alice, "POST", `/api/v1/threads/${threadId}/read`, { seq });
      expect({ seq, status: res.status }).toEqual({ seq, status: 400 });
    }
  });

  test("starting a conversation with nobody, yourself or a stranger's name says which", async () => {
    const cases: [unknown, number, string][] = [
      [{ participants: [] }, 422, "invalid_participants"],
      [{ participants: [alice.username] }, 422, "invalid_participants"],
      [{ participants: [alice.username.toUpperCase()] }, 422, "invalid_participants"],
      [{ participants: ["nobody_by_this_name"] }, 404, "unknown_user"],
      [{ participants: ["bad name!"] }, 404, "unknown_user"],
      [{ participants: "bob" }, 400, "bad_request"],
      [{ participants: [bob.username], text: "" }, 422, "empty_message"],
    ];
    for (const [body, status, code] of cases) {
      const res = await api(server, alice, "POST", "/api/v1/threads", body);
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status, code });
    }
    const list = await api(server, alice, "GET", "/api/v1/threads");
    expect(list.body.threads).toHaveLength(1);
    expect(await stored()).toHaveLength(1);
  });
});

describe("the socket", () => {
  test("malformed frames, unknown types and wrong types get bad_request, and the socket stays open", async () => {
    const before = await stored();
    const socket = await SocketClient.open(server, alice);
    const frames = [
      "{not json",
      "[1,2,3]",
      '"just a string"',
      "12345",
      "null",
      JSON.stringify({ type: "dance" }),
      JSON.stringify({ no: "type" }),
      JSON.stringify({ type: "subscribe", threadId: String(threadId) }),
      JSON.stringify({ type: "subscribe", threadId: -4 }),
      JSON.stringify({ type: "subscribe", threadId, after: "x" }),
      JSON.stringify({ type: "send", threadId, text: 5, clientId: "k1" }),
      JSON.stringify({ type: "send", threadId, text: "no client id" }),
      JSON.stringify({ type: "read", threadId, seq: "1" }),
    ];
    for (const frame of frames) {
      socket.send(frame);
      const reply = await socket.next((f) => f.type === "error");
      expect({ frame, code: reply.code }).toEqual({ frame, code: "bad_request" });
    }
    socket.send({ type: "send", threadId, text: "   ", clientId: "k2" });
    expect(await socket.next((f) => f.type === "error")).toMatchObject({ code: "empty_message", clientId: "k2" });
    socket.send({ type: "send", threadId, text: "y".repeat(10_001), clientId: "k3" });
    expect(await socket.next((f) => f.type === "error")).toMatchObject({ code: "message_too_long", clientId: "k3" });
    socket.send({ type: "send", threadId: 987_654_321, text: "to nowhere", clientId: "k4" });
    expect(await socket.next((f) => f.type === "error")).toMatchObject({ code: "not_found", clientId: "k4" });
    socket.send({ type: "subscribe", threadId: 987_654_321 });
    expect(await socket.next((f) => f.type === "error")).toMatchObject({ code: "not_found", threadId: 987_654_321 });

    // Still open and working.
    const { replay } = await socket.subscribe(threadId, 0);
    expect(replay.map((f) => f.message.text)).toEqual(["the only message"]);
    expect(await stored()).toEqual(before);
    socket.close();
  });

  test("a frame over 64 KiB closes the socket with 1009", async () => {
    const socket = await SocketClient.open(server, alice);
    socket.send({ type: "send", threadId, text: "z".repeat(70_000), clientId: "big" });
    expect((await socket.closed).code).toBe(1009);
    expect(await stored()).toHaveLength(1);
  });

  test("an upgrade from another origin is refused with 403 before any socket opens", async () => {
    const upgrade = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/v1/ws`, {
        headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", ...headers },
      });
    const cookie = `parley_session=${alice.token}`;
    for (const origin of ["http://evil.example", "null", `${server.origin}.evil.example`, server.origin.replace("http:", "https:"), `${server.origin}/`]) {
      const res = await upgrade({ origin, cookie });
      expect({ origin, status: res.status }).toEqual({ origin, status: 403 });
      const withBearer = await upgrade({ origin, authorization: `Bearer ${alice.token}` });
      expect({ origin, status: withBearer.status }).toEqual({ origin, status: 403 });
    }
    // A cookie without any Origin is what a foreign page's request would look like: refused.
    expect((await upgrade({ cookie })).status).toBe(403);
    // Our own origin opens.
    expect((await upgrade({ origin: server.origin, cookie })).status).toBe(101);
    // A non-browser client with a bearer token and no Origin is fine.
    const bot = await SocketClient.open(server, alice, { origin: null });
    await bot.subscribe(threadId);
    bot.close();
    // A browser would get no socket at all.
    await expect(SocketClient.open(server, alice, { origin: "http://evil.example" })).rejects.toThrow();
  });

  test("frames that are not JSON objects get a bad_request frame, the socket stays open, nothing is stored", async () => {
    const before = await stored();
    const socket = await SocketClient.open(server, alice);
    for (const frame of ["hello", "{not json", "42", "[1,2]", '"send"', "null"]) {
      socket.send(frame);
      expect(await socket.next((f) => f.type === "error")).toMatchObject({ code: "bad_request", message: "A frame is a JSON object with a type." });
    }
    socket.ws.send(new Uint8Array([0x7b, 0x7d])); // "{}" as a binary frame: not ours either
    expect(await socket.next((f) => f.type === "error")).toMatchObject({ code: "bad_request" });
    socket.send({ type: "ping", id: 1 });
    expect(await socket.next((f) => f.type === "pong")).toMatchObject({ id: 1 });
    socket.close();
    expect(await stored()).toEqual(before);
    // A plain request to the socket's address is told what it is.
    const plain = await fetch(`${server.url}/api/v1/ws`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(plain.status).toBe(426);
    expect(await plain.text()).toContain("WebSocket");
  });

  test("a socket without a valid session is closed with 4401, which says: log in, do not retry", async () => {
    const socket = await SocketClient.open(server, { ...alice, token: "bad.token" });
    expect((await socket.closed).code).toBe(4401);
  });
});

// ---- Review fixes: hostile input that used to reach a 500, slip past a limit or be stored mangled.

/** A page form posted as the signed-in person's browser would: their cookie, our Origin, the page's token. */
async function postForm(who: Person, path: string, body: string): Promise<Response> {
  const cookie = `parley_session=${who.token}`;
  const page = await (await fetch(`${server.url}/messages`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
  return fetch(server.url + path, {
    method: "POST",
    redirect: "manual",
    headers: { cookie, origin: server.origin, "content-type": "application/x-www-form-urlencoded" },
    body: `_csrf=${encodeURIComponent(csrf)}&${body}`,
  });
}

describe("forms", () => {
  test("a CSRF token of the right length in characters but not in bytes is a 403, not a 500", async () => {
    const res = await fetch(`${server.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: server.origin, cookie: "parley_csrf=AAAAAAAAAAAAAAAA", "content-type": "application/x-www-form-urlencoded" },
      body: "_csrf=%C3%80AAAAAAAAAAAAAAA&username=x&password=y",
    });
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain("    at ");
    // The same cookie with its own token still gets past the check (to the login's own answer).
    const ok = await fetch(`${server.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: server.origin, cookie: "parley_csrf=AAAAAAAAAAAAAAAA", "content-type": "application/x-www-form-urlencoded" },
      body: "_csrf=AAAAAAAAAAAAAAAA&username=x&password=y",
    });
    expect(ok.status).toBe(401);
  });

  test("a form field that is not percent-encoded UTF-8 is refused with 400 and nothing is stored", async () => {
    const before = await stored();
    for (const text of ["%FF%FE", "ok%C3", "%ED%A0%80", "50%"]) {
      const res = await postForm(alice, `/chat/${threadId}/messages`, `text=${text}&clientId=${crypto.randomUUID()}`);
      expect({ text, status: res.status }).toEqual({ text, status: 400 });
    }
    expect(await stored()).toEqual(before);
    // Well-formed fields still arrive as typed: + is a space, %2B a plus, UTF-8 whole.
    const res = await postForm(alice, `/chat/${threadId}/messages`, `text=a+b%2Bc%20%D1%89%F0%9F%98%80%25&clientId=${crypto.randomUUID()}`);
    expect(res.status).toBe(303);
    expect((await stored()).map((m) => (m as { text: string }).text)).toEqual([...before.map((m) => (m as { text: string }).text), "a b+c щ😀%"]);
  });

  test("a new group naming more people than a group holds is refused before any name is looked up", async () => {
    const names = Array.from({ length: 501 }, (_, i) => `nobody_${i}`).join(" ");
    const res = await postForm(alice, "/groups", `title=big&members=${names.replaceAll(" ", "+")}&text=&clientId=${crypto.randomUUID()}`);
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain("at most 500 members");
    expect(html).not.toContain("There is nobody called"); // refused before any name was looked up
    expect((await api(server, alice, "GET", "/api/v1/threads")).body.threads).toHaveLength(1);
    // 500 names is within the cap: it gets as far as looking them up.
    const fewer = Array.from({ length: 500 }, (_, i) => `nobody_${i}`).join("+");
    const looked = await postForm(alice, "/groups", `title=big&members=${fewer}&text=&clientId=${crypto.randomUUID()}`);
    expect(looked.status).toBe(404);
    expect(await looked.text()).toContain("There is nobody called");
  });
});

describe("feed cursors", () => {
  const outOfRange = ["-271821-04-20T00:00:00Z", "+275760-09-13T00:00:00Z", "-100000-01-01T00:00:00Z", "+100000-01-01T00:00:00Z"];

  test("a cursor Date.parse takes but no time here can hold is bad_request on the socket, and the socket stays usable", async () => {
    const socket = await SocketClient.open(server, alice);
    for (const after of outOfRange) {
      socket.send({ type: "subscribe", feed: "me", after });
      const reply = await socket.next((f) => f.type === "error" || f.type === "subscribed");
      expect({ after, type: reply.type, code: reply.code }).toEqual({ after, type: "error", code: "bad_request" });
    }
    socket.send({ type: "subscribe", feed: "me", after: "2020-01-01T00:00:00Z" });
    expect(await socket.next((f) => f.type === "error" || f.type === "subscribed")).toMatchObject({ type: "subscribed", feed: "me" });
    socket.close();
  });

  test("the same cursors are a 400 bad_request on the event stream, by query or Last-Event-ID", async () => {
    for (const after of outOfRange) {
      const res = await api(server, alice, "GET", `/api/v1/events?after=${encodeURIComponent(after)}`);
      expect({ after, status: res.status, code: res.body?.error?.code }).toEqual({ after, status: 400, code: "bad_request" });
      const byHeader = await api(server, alice, "GET", "/api/v1/events", undefined, { "last-event-id": after });
      expect({ after, status: byHeader.status, code: byHeader.body?.error?.code }).toEqual({ after, status: 400, code: "bad_request" });
    }
  });
});

describe("per-address limits and IPv6", () => {
  test("IPv6 addresses count by their /64; IPv4, and IPv4 written as IPv6, by the address", () => {
    expect(limitKey("203.0.113.7")).toBe("203.0.113.7");
    expect(limitKey("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(limitKey("::FFFF:cb00:7107")).toBe("203.0.113.7");
    const net = "2001:db8:0:1::/64";
    for (const a of ["2001:db8:0:1::1", "2001:db8:0:1:ffff:ffff:ffff:ffff", "2001:DB8:0:1:0:0:0:2", "2001:0db8:0000:0001::abcd", "[2001:db8:0:1::9]", "2001:db8:0:1::1%eth0", "2001:db8:0:1::192.0.2.1"]) {
      expect({ a, key: limitKey(a) }).toEqual({ a, key: net });
    }
    expect(limitKey("2001:db8:0:2::1")).not.toBe(net);
    expect(limitKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(limitKey("not an address")).toBe("not an address");
  });

  test("sign-ups from many addresses of one IPv6 /64 share one limit; another /64 has its own", async () => {
    const strict = await startServer({ env: { RATE_LIMIT_SCALE: "1" } });
    try {
      // A /64 of this run's own, so a limit kept in Redis from an earlier run is not in the way.
      const hex = () => crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16);
      const net = `2001:db8:${hex()}:${hex()}`;
      const from = (host: number) => ({ "x-forwarded-for": `${net}:${host.toString(16)}::1` });
      const signUp = (headers: Record<string, string>) =>
        api(strict, null, "POST", "/api/v1/signup", { username: uniqueName("v6"), password: "password-for-tests" }, headers);
      for (let host = 1; host <= 5; host++) expect((await signUp(from(host))).status).toBe(201);
      const sixth = await signUp(from(6));
      expect(sixth.status).toBe(429);
      expect(sixth.body.error.code).toBe("rate_limited");
      expect(sixth.headers.get("retry-after")).toBeTruthy();
      expect((await signUp({ "x-forwarded-for": `2001:db8:${hex()}:${hex()}::1` })).status).toBe(201);
    } finally {
      await strict.stop();
    }
  });
});
