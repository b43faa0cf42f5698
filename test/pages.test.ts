// The pages with JavaScript off: plain forms, redirects, errors beside their fields, and
// everything a person types shown back as text.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, SocketClient, startThread, uniqueName, type Person } from "./helpers/client.ts";
import { decode, NoJsBrowser, textOf } from "./helpers/browser-nojs.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

async function signedIn(base = "pat"): Promise<{ browser: NoJsBrowser; username: string }> {
  const browser = new NoJsBrowser(server);
  const username = uniqueName(base);
  const res = await browser.signUp(username);
  expect(res.status).toBe(303);
  expect(res.headers.get("location")).toBe("/messages");
  return { browser, username };
}

function person(browser: NoJsBrowser, username: string): Person {
  return { id: 0, username, password: "", token: browser.cookies.get("parley_session")! };
}

describe("accounts on pages", () => {
  test("sign up, log out, log in again; a failed login keeps the name typed", async () => {
    const { browser, username } = await signedIn();
    expect(browser.cookies.has("parley_session")).toBe(true);
    const list = await browser.get("/messages");
    expect(list.status).toBe(200);
    expect(list.headers.get("content-type")).toContain("text/html");
    expect(browser.lastHtml).toContain(username);

    const out = await browser.post("/logout", {});
    expect(out.status).toBe(303);
    expect(browser.cookies.has("parley_session")).toBe(false);
    expect((await browser.get("/messages")).headers.get("location")).toBe("/login");

    await browser.get("/login");
    const wrong = await browser.post("/login", { username, password: "wrong password" });
    expect(wrong.status).toBe(401);
    expect(textOf(browser.lastHtml, "form-error")).toBe("Invalid username or password.");
    expect(browser.lastHtml).toContain(`value="${username}"`);
    const right = await browser.post("/login", { username: username.toUpperCase(), password: "password-for-tests" });
    expect(right.status).toBe(303);
    expect((await browser.get("/messages")).status).toBe(200);
  });

  test("a bad sign-up comes back with the error beside the field", async () => {
    const browser = new NoJsBrowser(server);
    await browser.get("/signup");
    const res = await browser.post("/signup", { username: "no spaces allowed", password: "password-for-tests" });
    expect(res.status).toBe(422);
    expect(textOf(browser.lastHtml, "username-error")).toContain("3–32 characters");
    expect(browser.lastHtml).toContain('value="no spaces allowed"');
    const short = await browser.post("/signup", { username: uniqueName("ok"), password: "short" });
    expect(short.status).toBe(422);
    expect(textOf(browser.lastHtml, "password-error")).toContain("8–256");
  });

  test("forms without the token, or posted from another site, change nothing", async () => {
    const { browser } = await signedIn();
    const other = await signup(server, "other");
    const fields = { to: other.username, text: "forged" };
    for (const options of [{ csrf: null }, { csrf: "wrong-token-wrong-token" }, { origin: "http://evil.example" }, { origin: null }]) {
      await browser.get("/messages");
      const res = await browser.post("/messages", fields, options);
      expect(res.status).toBe(403);
    }
    expect((await api(server, other, "GET", "/api/v1/threads")).body.threads).toEqual([]);
    // The login form is protected too (login CSRF).
    const stranger = new NoJsBrowser(server);
    await stranger.get("/login");
    const res = await stranger.post("/login", { username: other.username, password: other.password }, { origin: "http://evil.example" });
    expect(res.status).toBe(403);
    expect(stranger.cookies.has("parley_session")).toBe(false);
    // And a GET never changes anything: logging out needs a POST.
    expect((await browser.get("/logout")).status).toBe(404);
    expect((await browser.get("/messages")).status).toBe(200);
  });
});

describe("conversations on pages", () => {
  test("new message: errors beside the field with the typed text kept, then success opens the chat", async () => {
    const { browser, username } = await signedIn("ann");
    const bob = await signup(server, "bob");
    await browser.get("/messages");

    const unknown = await browser.post("/messages", { to: "no_such_person_x", text: "keep this text" });
    expect(unknown.status).toBe(404);
    expect(textOf(browser.lastHtml, "to-error")).toContain("no_such_person_x");
    expect(browser.lastHtml).toContain('value="no_such_person_x"');
    expect(textOf(browser.lastHtml, "new-text")).toBe("keep this text");

    const self = await browser.post("/messages", { to: username, text: "to me" });
    expect(self.status).toBe(422);
    expect(textOf(browser.lastHtml, "to-error")).toBe("You cannot start a conversation with yourself.");

    const empty = await browser.post("/messages", { to: bob.username, text: "   " });
    expect(empty.status).toBe(422);
    expect(textOf(browser.lastHtml, "new-text-error")).toBe("The message is empty.");
    const long = await browser.post("/messages", { to: bob.username, text: "x".repeat(10_001) });
    expect(long.status).toBe(422);
    expect(textOf(browser.lastHtml, "new-text-error")).toContain("10,000");
    expect((await api(server, bob, "GET", "/api/v1/threads")).body.threads).toEqual([]);

    const ok = await browser.post("/messages", { to: bob.username, text: "hello <b>bob</b>" });
    expect(ok.status).toBe(303);
    const location = ok.headers.get("location")!;
    expect(location).toMatch(/^\/chat\/\d+$/);
    await browser.get(location);
    expect(textOf(browser.lastHtml, "count-total")).toBe("1");
    expect(browser.lastHtml).toContain(bob.username);
    // Written again, the same conversation opens.
    await browser.get("/messages");
    const again = await browser.post("/messages", { to: bob.username.toUpperCase(), text: "again" });
    expect(again.headers.get("location")).toBe(location);
  });

  test("the list page, served again from what was kept: fresh form ids each time, each session its own token, and what changed since", async () => {
    const { browser, username } = await signedIn("kit");
    const bob = await signup(server, "bob");
    const load = async (b: NoJsBrowser) => {
      expect((await b.get("/messages")).status).toBe(200);
      const html = b.lastHtml;
      return {
        html,
        csrf: [...html.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1]),
        clientIds: [...html.matchAll(/name="clientId" value="([^"]+)"/g)].map((m) => m[1]),
        cursor: /data-cursor="([^"]+)"/.exec(html)?.[1],
      };
    };
    // Loaded over and over: the first read keeps nothing (the cache starts listening then).
    const loads = [await load(browser), await load(browser), await load(browser), await load(browser)];
    for (const page of loads) {
      expect(page.clientIds).toHaveLength(2);
      expect(page.csrf.length).toBeGreaterThanOrEqual(3);
      expect(new Set(page.csrf)).toEqual(new Set([loads[0]!.csrf[0]]));
      expect(Number.isFinite(Date.parse(page.cursor!))).toBe(true);
      expect(page.html).not.toMatch(/value="s[0-9a-f]{32}/); // no slot left unfilled
    }
    expect(new Set(loads.flatMap((p) => p.clientIds)).size).toBe(8);
    expect(Date.parse(loads[3]!.cursor!)).toBeGreaterThanOrEqual(Date.parse(loads[0]!.cursor!));
    expect(loads[3]!.html).not.toContain(bob.username);

    // The same person in another browser: that session's own token, never the first one's.
    const other = new NoJsBrowser(server);
    await other.get("/login");
    expect((await other.post("/login", { username, password: "password-for-tests" })).status).toBe(303);
    const elsewhere = await load(other);
    expect(elsewhere.csrf[0]).not.toBe(loads[0]!.csrf[0]);
    expect(new Set(elsewhere.csrf).size).toBe(1);

    // Bob writes: the next load shows the conversation, and the kept page's token still posts.
    await api(server, bob, "POST", "/api/v1/threads", { participants: [username], text: "hi from bob" });
    const after = await load(browser);
    expect(after.html).toContain(bob.username);
    expect(after.html).toContain("hi from bob");
    const sent = await browser.post("/messages", { to: bob.username, text: "hello back", clientId: after.clientIds[0]! });
    expect(sent.status).toBe(303);
    const messages = (await api(server, bob, "GET", "/api/v1/threads")).body.threads;
    expect(messages).toHaveLength(1);
    expect(messages[0].total).toBe(2);
  });

  test("a conversation: send with the form, counters, escaping, read marker", async () => {
    const { browser, username } = await signedIn("cat");
    const bob = await signup(server, "bob");
    const me = person(browser, username);
    const { thread } = await startThread(server, bob, me, `<script>alert("x")</script> & <img src=x onerror=alert(1)>`);
    expect((await api(server, me, "GET", `/api/v1/threads/${thread.id}`)).body.thread.unread).toBe(1);

    await browser.get(`/chat/${thread.id}`);
    const html = browser.lastHtml;
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;");
    expect(textOf(html, "count-total")).toBe("1");
    expect(textOf(html, "count-received")).toBe("1");
    expect(textOf(html, "count-sent")).toBe("0");
    // Opening it read it.
    expect((await api(server, me, "GET", `/api/v1/threads/${thread.id}`)).body.thread.unread).toBe(0);

    const token = browser.csrfToken();
    const sent = await browser.post(`/chat/${thread.id}/messages`, { text: "line one\nline two", clientId: "form-1" });
    expect(sent.status).toBe(303);
    expect(sent.headers.get("location")).toBe(`/chat/${thread.id}#m-2`);
    // The same form posted twice (a double click, a resubmit) stores it once.
    const twice = await browser.post(`/chat/${thread.id}/messages`, { text: "line one\nline two", clientId: "form-1" }, { csrf: token });
    expect(twice.status).toBe(303);
    await browser.get(`/chat/${thread.id}`);
    expect(textOf(browser.lastHtml, "count-total")).toBe("2");
    expect(textOf(browser.lastHtml, "count-sent")).toBe("1");
    expect(decode(browser.lastHtml)).toContain("line one\nline two");

    const empty = await browser.post(`/chat/${thread.id}/messages`, { text: " " });
    expect(empty.status).toBe(422);
    expect(textOf(browser.lastHtml, "compose-error")).toBe("The message is empty.");
    const long = "я".repeat(10_001);
    const tooLong = await browser.post(`/chat/${thread.id}/messages`, { text: long });
    expect(tooLong.status).toBe(422);
    expect(textOf(browser.lastHtml, "compose-text")).toBe(long);
    const msgs = await api(server, bob, "GET", `/api/v1/threads/${thread.id}/messages`);
    expect(msgs.body.messages.map((m: { text: string }) => m.text)).toEqual([expect.stringContaining("<script>"), "line one\nline two"]);
  });

  test("a conversation shows the partner's presence and read receipt once both have accepted it", async () => {
    const { browser, username } = await signedIn("fay");
    const bob = await signup(server, "bob");
    const me = person(browser, username);
    const bobSocket = await SocketClient.open(server, bob);
    const { thread } = await startThread(server, bob, me, "hello from a stranger");
    const presenceLine = async () => {
      await browser.get(`/chat/${thread.id}`);
      return /<p id="presence"[^>]*>/.exec(browser.lastHtml)?.[0] + textOf(browser.lastHtml, "presence");
    };
    // A request: bob is no contact of fay's until she accepts, so the page says nothing of him.
    expect(await presenceLine()).toBe('<p id="presence" class="presence" hidden>');
    expect((await browser.post(`/chat/${thread.id}/accept`, {})).status).toBe(303);
    let line = await presenceLine();
    for (const until = Date.now() + 3000; !line.endsWith("online") && Date.now() < until; line = await presenceLine()) await Bun.sleep(50);
    expect(line).toBe(`<p id="presence" class="presence online" data-user-id="${bob.id}">online`);
    // Her reply, read by bob: the page marks it seen.
    const sent = await browser.post(`/chat/${thread.id}/messages`, { text: "hi bob", clientId: "fay-1" });
    const seq = Number(sent.headers.get("location")!.split("#m-")[1]);
    await browser.get(`/chat/${thread.id}`);
    expect(browser.lastHtml).not.toContain("data-seen=");
    expect((await api(server, bob, "POST", `/api/v1/threads/${thread.id}/read`, { seq })).status).toBe(204);
    await browser.get(`/chat/${thread.id}`);
    expect(browser.lastHtml).toMatch(new RegExp(`data-seq="${seq}"[^>]*data-seen="Seen"`));
    // bob stops sharing his presence: the page shows nothing of it again.
    expect((await api(server, bob, "PATCH", "/api/v1/settings", { showPresence: false })).status).toBe(200);
    expect(await presenceLine()).toBe('<p id="presence" class="presence" hidden>');
    bobSocket.close();
  });

  test("someone else's conversation is a 404 page", async () => {
    const { browser } = await signedIn("dan");
    const [x, y] = [await signup(server, "x"), await signup(server, "y")];
    const { thread } = await startThread(server, x, y, "not for dan");
    const res = await browser.get(`/chat/${thread.id}`);
    expect(res.status).toBe(404);
    expect(browser.lastHtml).not.toContain("not for dan");
    await browser.get("/messages");
    expect((await browser.post(`/chat/${thread.id}/messages`, { text: "in" })).status).toBe(404);
    expect((await browser.get(`/chat/${thread.id}/messages?before=2`)).status).toBe(404);
    expect((await browser.get("/chat/not-a-number")).status).toBe(404);
  });

  test("the latest 50 messages, oldest first, and earlier ones a page at a time", async () => {
    const { browser, username } = await signedIn("eve");
    const bob = await signup(server, "bob");
    const me = person(browser, username);
    const { thread } = await startThread(server, bob, me, "m1");
    for (let i = 2; i <= 60; i++) await api(server, bob, "POST", `/api/v1/threads/${thread.id}/messages`, { text: `m${i}` });

    await browser.get(`/chat/${thread.id}`);
    const seqs = [...browser.lastHtml.matchAll(/data-seq="(\d+)"/g)].map((m) => Number(m[1]));
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 11));
    expect(browser.lastHtml).toContain(`href="/chat/${thread.id}?before=11"`);
    expect(browser.lastHtml).toContain(`hx-get="/chat/${thread.id}/messages?before=11"`);

    // htmx asks for the fragment: the ten before, and the beginning of the conversation.
    await browser.get(`/chat/${thread.id}/messages?before=11`, { "hx-request": "true" });
    expect(browser.lastHtml.startsWith("<li")).toBe(true);
    expect([...browser.lastHtml.matchAll(/data-seq="(\d+)"/g)].map((m) => Number(m[1]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(browser.lastHtml).toContain("beginning of the conversation");
    // Without JavaScript, the link shows that page in full.
    const older = await browser.get(`/chat/${thread.id}?before=11`);
    expect(older.status).toBe(200);
    expect([...browser.lastHtml.matchAll(/data-seq="(\d+)"/g)].map((m) => Number(m[1]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

describe("language and time", () => {
  test("counts use the right plural form in English and Russian", async () => {
    const { browser, username } = await signedIn("ivy");
    const me = person(browser, username);
    const counts = [1, 2, 3, 5, 11, 21];
    for (const n of counts) {
      const other = await signup(server, `n${n}`);
      const { thread } = await startThread(server, other, me, "1");
      for (let i = 2; i <= n; i++) await api(server, other, "POST", `/api/v1/threads/${thread.id}/messages`, { text: String(i) });
    }
    await browser.get("/messages", { "accept-language": "en-GB,en;q=0.9" });
    for (const phrase of ["1 message<", "2 messages<", "3 messages<", "5 messages<", "11 messages<", "21 messages<"]) expect(browser.lastHtml).toContain(phrase);
    await browser.get("/messages", { "accept-language": "ru-RU,ru;q=0.9,en;q=0.5" });
    for (const phrase of ["1 сообщение<", "2 сообщения<", "3 сообщения<", "5 сообщений<", "11 сообщений<", "21 сообщение<"]) expect(browser.lastHtml).toContain(phrase);
    expect(browser.lastHtml).toContain('lang="ru"');
    expect(browser.lastHtml).toContain("Переписки");
  });

  test("the switch overrides Accept-Language, and comes back to the same page", async () => {
    const { browser } = await signedIn("jo");
    await browser.get("/messages", { "accept-language": "en" });
    const res = await browser.post("/lang", { lang: "ru", back: "/messages" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/messages");
    await browser.get("/messages", { "accept-language": "en" });
    expect(browser.lastHtml).toContain("Новое сообщение");
    // Only local paths: never an open redirect.
    const evil = await browser.post("/lang", { lang: "en", back: "//evil.example/x" });
    expect(evil.headers.get("location")).toBe("/");
  });

  test("times show in the reader's zone from the tz cookie, UTC until it is known", async () => {
    const { browser, username } = await signedIn("kim");
    const bob = await signup(server, "bob");
    const { thread, message } = await startThread(server, bob, person(browser, username), "what time is it");
    const created = (await api(server, bob, "GET", `/api/v1/threads/${thread.id}/messages`)).body.messages[0].createdAt as string;
    expect(message).toBeDefined();
    const expected = (timeZone: string) => new Intl.DateTimeFormat("en", { timeZone, hour: "2-digit", minute: "2-digit" }).format(new Date(created));
    const timeText = () => decode(/<time datetime="[^"]+">([^<]+)<\/time>/.exec(browser.lastHtml)![1]!);

    await browser.get(`/chat/${thread.id}`);
    const utc = timeText();
    browser.cookies.set("tz", encodeURIComponent("Asia/Kathmandu"));
    await browser.get(`/chat/${thread.id}`);
    const kathmandu = timeText();
    // Today in each zone shows just the time; near midnight it may carry the date as well.
    expect(utc.includes(expected("UTC")) || utc.includes(":")).toBe(true);
    expect(kathmandu).toContain(expected("Asia/Kathmandu"));
    expect(kathmandu).not.toBe(utc);
    // A zone Intl does not know is treated as UTC, not an error.
    browser.cookies.set("tz", "Not/AZone");
    expect((await browser.get(`/chat/${thread.id}`)).status).toBe(200);
    expect(timeText()).toBe(utc);
  });
});
