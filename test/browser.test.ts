// Two people in two browsers: bob has the conversation open, alice sends with Ctrl+Enter,
// bob sees it appear without a reload, and both pages' counters follow.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { rmSync } from "node:fs";
import { embedded, freshDataDir, startServer, type TestServer } from "./helpers/server.ts";
import { api, signup, startThread, type Person } from "./helpers/client.ts";
import { ARTIFACTS, haveChromium, launch } from "./helpers/chromium.ts";

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (!haveChromium) return;
  server = await startServer();
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function pageAs(person: Person): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: "en-US", timezoneId: "Europe/Berlin" });
  await context.addCookies([{ name: "parley_session", value: person.token, url: server.url, httpOnly: true, sameSite: "Lax" }]);
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error(`page error (${person.username}):`, err.message));
  return { context, page };
}

test.skipIf(!haveChromium)("alice sends with Ctrl+Enter; bob sees it live and the counters change", async () => {
  const [alice, bob] = await Promise.all([signup(server, "alice"), signup(server, "bob")]);
  const { thread } = await startThread(server, bob, alice, "hi alice, are you there?");
  const a = await pageAs(alice);
  const b = await pageAs(bob);
  await b.page.goto(`${server.url}/chat/${thread.id}`);
  await a.page.goto(`${server.url}/chat/${thread.id}`);
  for (const { page } of [a, b]) await page.locator("#status[data-state=live]").waitFor();
  expect(await b.page.textContent("#count-total")).toBe("1");
  expect(await b.page.textContent("#count-sent")).toBe("1");
  // A mark that a reload would wipe: it must still be there at the end.
  await b.page.evaluate(() => ((window as { notReloaded?: boolean }).notReloaded = true));

  const text = `yes, here <b>not bold</b> ${Date.now()}`;
  const box = a.page.locator("#compose-text");
  await box.click();
  await box.pressSequentially("yes, here");
  await box.press("Enter"); // Enter is a new line, not a send
  expect(await box.inputValue()).toBe("yes, here\n");
  await box.fill(text);
  await box.press("Control+Enter");

  // bob's page, never reloaded, shows it once, as text, and counts it as received.
  const item = b.page.locator("#messages li.msg", { hasText: text });
  await item.waitFor();
  expect(await item.count()).toBe(1);
  expect(await item.locator(".text").textContent()).toBe(text);
  expect(await b.page.locator("#messages b").count()).toBe(0);
  expect(await b.page.textContent("#count-total")).toBe("2");
  expect(await b.page.textContent("#count-received")).toBe("1");
  // alice's own copy is confirmed (no longer pending), marked as hers, and counted as sent.
  const mine = a.page.locator("#messages li.msg.mine", { hasText: text });
  await mine.waitFor();
  await a.page.locator("#messages li.pending").waitFor({ state: "detached" });
  expect(await a.page.textContent("#count-sent")).toBe("1");
  expect(await a.page.textContent("#count-total")).toBe("2");
  expect(await box.inputValue()).toBe("");

  // And back: bob answers with the Send button.
  await b.page.fill("#compose-text", "good to hear");
  await b.page.click("#compose button[type=submit]");
  await a.page.locator("#messages li.msg", { hasText: "good to hear" }).waitFor();
  expect(await a.page.textContent("#count-received")).toBe("2");
  expect(await a.page.locator("#messages li.msg").count()).toBe(3);

  expect(await b.page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
  await b.page.screenshot({ path: join(ARTIFACTS, "chat-bob.png"), fullPage: true });
  await a.page.screenshot({ path: join(ARTIFACTS, "chat-alice.png"), fullPage: true });
  await a.context.close();
  await b.context.close();
}, 60_000);

test.skipIf(!haveChromium)("without WebSocket the conversation page falls back to SSE and plain POSTs, live both ways", async () => {
  const [alice, bob] = await Promise.all([signup(server, "alice"), signup(server, "bob")]);
  const { thread } = await startThread(server, alice, bob, "can you hear me?");
  const a = await pageAs(alice);
  await a.context.addInitScript(() => {
    // An old browser, or a proxy that will not pass WebSocket.
    delete (window as { WebSocket?: unknown }).WebSocket;
  });
  const page = await a.context.newPage();
  await page.goto(`${server.url}/chat/${thread.id}`);
  await page.locator("#status[data-state=live]").waitFor();
  expect(await page.evaluate(() => typeof (window as { WebSocket?: unknown }).WebSocket)).toBe("undefined");

  await api(server, bob, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "loud and clear, over SSE" });
  await page.locator("#messages li.msg", { hasText: "loud and clear, over SSE" }).waitFor();
  expect(await page.textContent("#count-received")).toBe("1");

  await page.fill("#compose-text", "sent by POST");
  await page.press("#compose-text", "Control+Enter");
  await page.locator("#messages li.msg.mine:not(.pending)", { hasText: "sent by POST" }).waitFor();
  expect(await page.locator("#messages li.msg", { hasText: "sent by POST" }).count()).toBe(1);
  const stored = await api(server, bob, "GET", `/api/v1/threads/${thread.id}/messages`);
  expect(stored.body.messages.map((m: { text: string }) => m.text)).toEqual(["can you hear me?", "loud and clear, over SSE", "sent by POST"]);
  await page.screenshot({ path: join(ARTIFACTS, "chat-sse-fallback.png"), fullPage: true });
  await a.context.close();
}, 60_000);

test.skipIf(!haveChromium)("the list page follows the feed: a new message moves its conversation up with an unread badge; a stranger's lands in Requests", async () => {
  const [alice, bob, carol] = await Promise.all([signup(server, "alice"), signup(server, "bob"), signup(server, "carol")]);
  const withBob = (await startThread(server, alice, bob, "hi bob")).thread.id;
  await api(server, bob, "POST", `/api/v1/threads/${withBob}/messages`, { text: "from bob" });
  await Bun.sleep(20);
  const withCarol = (await startThread(server, alice, carol, "hi carol")).thread.id;
  await api(server, carol, "POST", `/api/v1/threads/${withCarol}/messages`, { text: "from carol" });
  const a = await pageAs(alice);
  await a.page.goto(`${server.url}/messages`);
  await a.page.locator("#status[data-state=live]").waitFor();
  const order = () => a.page.$$eval("#threads li.thread", (items) => items.map((li) => Number((li as HTMLElement).dataset.threadId)));
  expect(await order()).toEqual([withCarol, withBob]);

  await api(server, bob, "POST", `/api/v1/threads/${withBob}/messages`, { text: "bob again" });
  await a.page.locator(`#thread-${withBob}[data-unread="2"]`).waitFor();
  expect(await order()).toEqual([withBob, withCarol]);
  expect(await a.page.textContent(`#thread-${withBob} .preview`)).toContain("bob again");
  expect(await a.page.title()).toMatch(/^\(3\) /);

  // A stranger writes for the first time: it lands in Requests, not in the list.
  const dave = await signup(server, "dave");
  const withDave = (await startThread(server, dave, alice, "hello from dave")).thread.id;
  await a.page.locator(`#requests #thread-${withDave}`).waitFor();
  expect(await a.page.isVisible("#requests-section")).toBe(true);
  expect(await order()).toEqual([withBob, withCarol]);
  // Accepting it (a plain form) makes it an ordinary conversation.
  await a.page.click(`#thread-${withDave} form[action$="/accept"] button`);
  await a.page.waitForURL(`**/chat/${withDave}`);
  await a.page.goto(`${server.url}/messages`);
  expect(await order()).toContain(withDave);
  expect(await a.page.isVisible("#requests-section")).toBe(false);
  await a.context.close();
}, 60_000);

test.skipIf(!haveChromium)("after a server restart the page reconnects, catches up, and a message typed while it was down arrives once", async () => {
  const dataDir = embedded ? freshDataDir() : undefined;
  let own = await startServer({ dataDir });
  const port = own.running.port;
  try {
    const [alice, bob] = await Promise.all([signup(own, "alice"), signup(own, "bob")]);
    const { thread } = await startThread(own, bob, alice, "before the restart");
    const context = await browser.newContext({ locale: "en-US" });
    await context.addCookies([{ name: "parley_session", value: alice.token, url: own.url, httpOnly: true, sameSite: "Lax" }]);
    const page = await context.newPage();
    await page.goto(`${own.url}/chat/${thread.id}`);
    await page.locator("#status[data-state=live]").waitFor();

    await own.stop();
    await page.locator("#status[data-state=reconnecting]").waitFor();
    // Typed while the server is down: shown as pending.
    await page.fill("#compose-text", "typed while you were down");
    await page.press("#compose-text", "Control+Enter");
    await page.locator("#messages li.msg.pending", { hasText: "typed while you were down" }).waitFor();

    own = await startServer({ dataDir, port });
    // bob writes before alice's page is back: she must catch up on it.
    await api(own, bob, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "while you reconnected" });
    await page.locator("#status[data-state=live]").waitFor({ timeout: 40_000 });
    await page.locator("#messages li.msg", { hasText: "while you reconnected" }).waitFor();
    await page.locator("#messages li.msg:not(.pending)", { hasText: "typed while you were down" }).waitFor();
    await page.locator("#messages li.pending").waitFor({ state: "detached" });

    const texts = await page.$$eval("#messages li.msg .text", (items) => items.map((i) => i.textContent));
    expect(texts).toEqual(["before the restart", "while you reconnected", "typed while you were down"]);
    const stored = await api(own, bob, "GET", `/api/v1/threads/${thread.id}/messages`);
    expect(stored.body.messages.map((m: { text: string }) => m.text)).toEqual(texts);
    expect(await page.textContent("#count-total")).toBe("3");
    await page.screenshot({ path: join(ARTIFACTS, "chat-after-restart.png"), fullPage: true });
    await context.close();
  } finally {
    await own.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}, 90_000);

test.skipIf(!haveChromium)("a message the server refuses shows as failed, with a retry button", async () => {
  const [alice, bob] = await Promise.all([signup(server, "alice"), signup(server, "bob")]);
  const { thread } = await startThread(server, alice, bob, "hello");
  const a = await pageAs(alice);
  await a.page.goto(`${server.url}/chat/${thread.id}`);
  await a.page.locator("#status[data-state=live]").waitFor();
  await a.page.fill("#compose-text", "x".repeat(10_001));
  await a.page.press("#compose-text", "Control+Enter");
  const failed = a.page.locator("#messages li.msg.failed");
  await failed.waitFor();
  expect(await failed.locator(".delivery").textContent()).toContain("at most 10,000 characters");
  expect(await failed.locator("button.retry").count()).toBe(1);
  expect((await api(server, bob, "GET", `/api/v1/threads/${thread.id}/messages`)).body.messages).toHaveLength(1);
  await a.context.close();
}, 60_000);

test.skipIf(!haveChromium)("alice creates a group with bob and carol; each sees the others' messages live with sender names, and who is typing", async () => {
  const [alice, bob, carol] = await Promise.all([signup(server, "alice"), signup(server, "bob"), signup(server, "carol")]);
  const a = await pageAs(alice);
  await a.page.goto(`${server.url}/messages`);
  await a.page.fill("#group-title", "Trip to the lake");
  await a.page.fill("#group-members", `${bob.username}, ${carol.username}`);
  await a.page.click("#new-group button[type=submit]");
  await a.page.waitForURL(/\/chat\/\d+$/);
  const threadId = Number(new URL(a.page.url()).pathname.split("/").pop());
  expect(await a.page.textContent(".chat-head h1")).toContain("Trip to the lake");

  const b = await pageAs(bob);
  const c = await pageAs(carol);
  for (const { page } of [b, c]) {
    await page.goto(`${server.url}/chat/${threadId}`);
    await page.locator("#status[data-state=live]").waitFor();
    expect(await page.textContent("#members")).toContain(alice.username);
  }
  await a.page.locator("#status[data-state=live]").waitFor();

  const say = async (who: { page: Page }, text: string) => {
    await who.page.fill("#compose-text", text);
    await who.page.press("#compose-text", "Control+Enter");
  };
  // bob types: the others see it, and it goes away by itself after about 5 s.
  await b.page.locator("#compose-text").pressSequentially("on my w");
  await a.page.locator("#typing", { hasText: `${bob.username}` }).waitFor();
  await c.page.locator("#typing", { hasText: `${bob.username}` }).waitFor();
  await a.page.waitForFunction(() => document.getElementById("typing")!.textContent === "", null, { timeout: 8000 });

  await say(a, "who brings the boat?");
  await say(b, "me!");
  await say(c, "I'll bring snacks");
  for (const { page } of [a, b, c]) {
    await page.locator("#messages li.msg", { hasText: "I'll bring snacks" }).waitFor();
    const rows = await page.$$eval("#messages li.msg:not(.system)", (items) =>
      items.map((li) => `${li.querySelector(".who")?.textContent}: ${li.querySelector(".text")?.textContent}`),
    );
    expect(rows).toEqual([`${alice.username}: who brings the boat?`, `${bob.username}: me!`, `${carol.username}: I'll bring snacks`]);
  }
  await c.page.screenshot({ path: join(ARTIFACTS, "group-carol.png"), fullPage: true });
  for (const ctx of [a, b, c]) await ctx.context.close();
}, 90_000);
