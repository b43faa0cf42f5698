// Two people in two browsers: bob has the conversation open, alice sends with Ctrl+Enter,
// bob sees it appear without a reload, and both pages' counters follow.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startServer, type TestServer } from "./helpers/server.ts";
import { signup, startThread, type Person } from "./helpers/client.ts";
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

  await b.page.screenshot({ path: join(ARTIFACTS, "chat-bob.png"), fullPage: true });
  await a.page.screenshot({ path: join(ARTIFACTS, "chat-alice.png"), fullPage: true });
  await a.context.close();
  await b.context.close();
}, 60_000);
