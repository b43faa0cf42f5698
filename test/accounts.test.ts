// Signing up, logging in and out through the JSON API, and what sessions look like.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, uniqueName } from "./helpers/client.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

describe("sign up", () => {
  test("answers 201 with the user, a token and an HttpOnly, SameSite=Lax session cookie", async () => {
    const username = uniqueName("Zoe.K-1");
    const res = await api(server, null, "POST", "/api/v1/signup", { username, password: "correct horse" });
    expect(res.status).toBe(201);
    expect(res.body.user).toEqual({ id: expect.any(Number), username });
    expect(res.body.token).toMatch(/^[a-z2-9]{24}\.[a-z2-9]{24}$/);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("parley_session="))!;
    expect(cookie).toContain(`parley_session=${res.body.token}`);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).toContain("Path=/");
    expect(cookie).not.toContain("Secure"); // plain HTTP here; behind Caddy's HTTPS it is set
    const me = await api(server, null, "GET", "/api/v1/me", undefined, { cookie: `parley_session=${res.body.token}` });
    expect(me.body.user).toEqual(res.body.user);
  });

  test("the cookie is Secure when the site is served over HTTPS", async () => {
    const res = await api(server, null, "POST", "/api/v1/signup", { username: uniqueName("sec"), password: "correct horse" }, { "x-forwarded-proto": "https" });
    expect(res.headers.getSetCookie().find((c) => c.startsWith("parley_session="))).toContain("Secure");
  });

  test("a name is unique in any letter case", async () => {
    const username = uniqueName("Case");
    expect((await api(server, null, "POST", "/api/v1/signup", { username, password: "password1" })).status).toBe(201);
    for (const variant of [username, username.toLowerCase(), username.toUpperCase()]) {
      const res = await api(server, null, "POST", "/api/v1/signup", { username: variant, password: "password2" });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe("username_taken");
    }
  });

  test("bad names and passwords are refused with 422 and create nothing", async () => {
    const cases: [unknown, unknown, string][] = [
      ["ab", "password1", "invalid_username"],
      ["a".repeat(33), "password1", "invalid_username"],
      ["has space", "password1", "invalid_username"],
      ["ünïcode", "password1", "invalid_username"],
      ["semi;colon", "password1", "invalid_username"],
      ["", "password1", "invalid_username"],
      [12345, "password1", "invalid_username"],
      [uniqueName("ok"), "short", "invalid_password"],
      [uniqueName("ok"), "x".repeat(257), "invalid_password"],
      [uniqueName("ok"), 12345678, "invalid_password"],
    ];
    for (const [username, password, code] of cases) {
      const res = await api(server, null, "POST", "/api/v1/signup", { username, password });
      expect({ username, status: res.status, code: res.body.error?.code }).toEqual({ username, status: 422, code });
      if (typeof username === "string" && username.length >= 3) {
        const login = await api(server, null, "POST", "/api/v1/login", { username, password });
        expect(login.status).toBe(401);
      }
    }
    // 3, 32 and 256 are allowed; a password counts characters, not bytes.
    expect((await api(server, null, "POST", "/api/v1/signup", { username: uniqueName("x").slice(0, 32), password: "ж".repeat(256) })).status).toBe(201);
    expect((await api(server, null, "POST", "/api/v1/signup", { username: Math.random().toString(36).slice(2, 5), password: "12345678" })).status).toBe(201);
  });
});

describe("log in and out", () => {
  test("a wrong password and an unknown name get the same answer", async () => {
    const alice = await signup(server, "alice");
    const wrong = await api(server, null, "POST", "/api/v1/login", { username: alice.username, password: "not it at all" });
    const unknown = await api(server, null, "POST", "/api/v1/login", { username: "nobody_here_at_all", password: "not it at all" });
    const malformed = await api(server, null, "POST", "/api/v1/login", { username: "bad name!", password: "x" });
    for (const res of [wrong, unknown, malformed]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: "invalid_credentials", message: "Invalid username or password." } });
    }
  });

  test("login in any letter case gives a new session; logout ends only that one", async () => {
    const alice = await signup(server, "alice");
    const login = await api(server, null, "POST", "/api/v1/login", { username: alice.username.toUpperCase(), password: alice.password });
    expect(login.status).toBe(200);
    expect(login.body.user).toEqual({ id: alice.id, username: alice.username });
    expect(login.body.token).not.toBe(alice.token);
    const second = { ...alice, token: login.body.token };

    const out = await api(server, second, "POST", "/api/v1/logout");
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().some((c) => c.startsWith("parley_session=;") && /Max-Age=0|Expires=/.test(c))).toBe(true);
    expect((await api(server, second, "GET", "/api/v1/me")).status).toBe(401);
    expect((await api(server, null, "GET", "/api/v1/me", undefined, { cookie: `parley_session=${second.token}` })).status).toBe(401);
    // The first session is untouched.
    expect((await api(server, alice, "GET", "/api/v1/me")).status).toBe(200);
  });

  test("a token with the right id and a wrong secret does not work", async () => {
    const alice = await signup(server, "alice");
    const [id, secret] = alice.token.split(".");
    const forged = `${id}.${secret!.slice(0, -1)}${secret!.endsWith("a") ? "b" : "a"}`;
    expect((await api(server, { ...alice, token: forged }, "GET", "/api/v1/me")).status).toBe(401);
    expect((await api(server, { ...alice, token: id! }, "GET", "/api/v1/me")).status).toBe(401);
  });

  test("a cookie-authenticated API write from another origin is refused", async () => {
    const alice = await signup(server, "alice");
    const bob = await signup(server, "bob");
    const cookie = `parley_session=${alice.token}`;
    const refused = await api(server, null, "POST", "/api/v1/threads", { participants: [bob.username], text: "csrf" }, { cookie, origin: "http://evil.example" });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("forbidden");
    const noOrigin = await api(server, null, "POST", "/api/v1/threads", { participants: [bob.username] }, { cookie });
    expect(noOrigin.status).toBe(403);
    const loginCsrf = await api(server, null, "POST", "/api/v1/login", { username: alice.username, password: alice.password }, { origin: "http://evil.example" });
    expect(loginCsrf.status).toBe(403);
    expect((await api(server, alice, "GET", "/api/v1/threads")).body.threads).toEqual([]);
    // From our own page it works.
    const ok = await api(server, null, "POST", "/api/v1/threads", { participants: [bob.username] }, { cookie, origin: server.origin });
    expect(ok.status).toBe(201);
  });
});
