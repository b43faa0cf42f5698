// The rendered conversation list kept per person: a person walking ?offset= through every
// number (or switching languages and time zones) keeps a few pages, not one per request.
import { expect, test } from "bun:test";
import type { Core } from "../src/core.ts";
import { ListCache } from "../src/web/list-cache.ts";

/** The one part of Core the cache uses: following a person's feed topic. */
function fakeCore() {
  const listeners = new Map<string, () => void>();
  const fanout = {
    acquire: async () => {},
    release: () => {},
    listen: (topic: string, fn: () => void) => {
      listeners.set(topic, fn);
      return () => listeners.delete(topic);
    },
  };
  return { core: { fanout } as unknown as Core, change: (topic: string) => listeners.get(topic)?.() };
}

test("a person's cached list pages stay few, the most recent kept, however many pages they ask for", async () => {
  const { core } = fakeCore();
  const cache = new ListCache<string>(core);
  // The first value only starts following the person's feed (it may have missed a change).
  await cache.set(7, "page 0", "first", performance.now());
  expect(cache.get(7, "page 0")).toBeUndefined();
  for (let offset = 0; offset < 1000; offset += 25) await cache.set(7, `page ${offset}`, `list at ${offset}`, performance.now());
  expect(cache.size(7)).toBeLessThanOrEqual(8);
  expect(cache.get(7, "page 975")).toBe("list at 975");
  expect(cache.get(7, "page 950")).toBe("list at 950");
  expect(cache.get(7, "page 0")).toBeUndefined();
  // Someone else's pages are their own.
  expect(cache.size(8)).toBe(0);
});

test("a change in the person's feed empties their cached pages", async () => {
  const { core, change } = fakeCore();
  const cache = new ListCache<string>(core);
  await cache.set(7, "page 0", "first", performance.now());
  await cache.set(7, "page 0", "list", performance.now());
  expect(cache.get(7, "page 0")).toBe("list");
  change("user:7");
  expect(cache.get(7, "page 0")).toBeUndefined();
});
