// The session cookie lives as long as the session: the server slides a session's expiry as it
// is used (30 days past its last use), and the browser's cookie is given the new lifetime too,
// or an active person would be logged out 30 days after logging in.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup } from "./helpers/client.ts";
import { NoJsBrowser } from "./helpers/browser-nojs.ts";
import { SESSION_TTL_MS, type SessionStore } from "../src/auth/session.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const TTL_S = SESSION_TTL_MS / 1000;

/** Moves a session's expiry in the store, as if it was last used `agoMs` ago, and makes the instance read it again. */
async function lastUsed(token: string, agoMs: number): Promise<void> {
  const sessions = server.running.core.sessions as unknown as { store: SessionStore };
  await sessions.store.extend(token.slice(0, token.indexOf(".")), Date.now() + SESSION_TTL_MS - agoMs);
  server.running.core.sessions.forgetAll();
}

function sessionCookieOf(response: Response): string | undefined {
  return response.headers.getSetCookie().find((c) => c.startsWith("parley_session="));
}

describe("the session cookie", () => {
  test("a page request that slides the session sends the cookie again with a fresh Max-Age", async () => {
    const browser = new NoJsBrowser(server);
    expect((await browser.signUp(`keep_${Date.now().toString(36)}`)).status).toBe(303);
    const token = browser.cookies.get("parley_session")!;
    // Used a moment ago: nothing slides, no cookie is sent.
    const quiet = await browser.get("/messages");
    expect(quiet.status).toBe(200);
    expect(sessionCookieOf(quiet)).toBeUndefined();
    // Last used 20 days ago: this request slides the session, and the cookie with it.
    await lastUsed(token, 20 * 24 * 3600_000);
    const slid = await browser.get("/messages");
    expect(slid.status).toBe(200);
    const cookie = sessionCookieOf(slid)!;
    expect(cookie).toBeDefined();
    expect(cookie).toContain(`parley_session=${token}`);
    expect(cookie).toMatch(new RegExp(`Max-Age=${TTL_S}(;|$)`, "i"));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//i);
    // Only once: the next request finds the session fresh.
    expect(sessionCookieOf(await browser.get("/messages"))).toBeUndefined();
  });

  test("an API request with the cookie slides it too; a bearer request gets no cookie", async () => {
    const person = await signup(server, "keepapi");
    await lastUsed(person.token, 2 * 3600_000);
    const byCookie = await fetch(`${server.url}/api/v1/threads`, { headers: { cookie: `parley_session=${person.token}` } });
    expect(byCookie.status).toBe(200);
    expect(sessionCookieOf(byCookie)).toMatch(new RegExp(`^parley_session=${person.token.replace(".", "\\.")};.*Max-Age=${TTL_S}`, "i"));
    await lastUsed(person.token, 2 * 3600_000);
    const byBearer = await api(server, person, "GET", "/api/v1/threads");
    expect(byBearer.status).toBe(200);
    expect(byBearer.headers.getSetCookie().find((c) => c.startsWith("parley_session="))).toBeUndefined();
  });

  test("logging out on a request that slid the session still expires the cookie", async () => {
    const browser = new NoJsBrowser(server);
    await browser.signUp(`out_${Date.now().toString(36)}`);
    await browser.get("/messages");
    await lastUsed(browser.cookies.get("parley_session")!, 2 * 3600_000);
    const out = await browser.post("/logout", {});
    expect(out.status).toBe(303);
    const cookies = out.headers.getSetCookie().filter((c) => c.startsWith("parley_session="));
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/Max-Age=0/i);
    expect(browser.cookies.has("parley_session")).toBe(false);
  });
});
