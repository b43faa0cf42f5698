// Bad input, from the API and the socket: each gets its own clear error, the socket stays
// usable, and the stored conversation is exactly what it was before.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread, type Person } from "./helpers/client.ts";

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
