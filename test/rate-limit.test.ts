// The rate limiter against a real Redis: a limit holds exactly, on one instance and across
// several, and the checks of one turn of the event loop share one script call.
import { afterAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { CHARGE_DELAY_MS, memoryRateLimiter, redisRateLimiter, type Limit, type RateLimiter } from "../src/auth/rate-limit.ts";
import { withRedis } from "./helpers/server.ts";
import { redisTestInstallation } from "./helpers/redis.ts";

/** 30 at once, then one a minute: nothing refills while a test runs. */
const limit: Limit = { name: "test-burst", burst: 30, rate: 1, perMs: 60_000 };
const { names, connect } = redisTestInstallation("ratetest");
const monitors: Redis[] = [];

/** An instance's limiter, on a connection of its own. */
function instance(chargeDelayMs?: number): RateLimiter {
  return redisRateLimiter(connect(), names, chargeDelayMs);
}

/** Counts, as Redis sees them, the scripts that touch the buckets of keys starting so. */
async function watchBucket(keyPrefix: string): Promise<{ calls: () => Promise<number> }> {
  const monitor = await new Redis(process.env.REDIS_URL!).monitor();
  monitors.push(monitor);
  const bucket = names.rateLimit(limit.name, keyPrefix);
  let calls = 0;
  monitor.on("monitor", (_time: string, args: string[]) => {
    if (/^eval/i.test(args[0] ?? "") && args.some((a) => a.startsWith(bucket))) calls++;
  });
  return {
    calls: async () => {
      await Bun.sleep(100); // MONITOR reports a moment after the command ran
      return calls;
    },
  };
}

const takeMany = async (limiter: RateLimiter, key: string, n: number, which = limit) =>
  Promise.all(Array.from({ length: n }, () => limiter.take(which, key)));

afterAll(() => {
  for (const m of monitors) m.disconnect();
});

describe.skipIf(!withRedis)("rate limits in Redis", () => {
  test("one instance: exactly the burst is let through, then each refusal says how long to wait", async () => {
    const limiter = instance();
    const results = await takeMany(limiter, "alice", 40);
    expect(results.filter((r) => r === null).length).toBe(30);
    // The ones let through are the first ones asked for.
    expect(results.slice(0, 30).every((r) => r === null)).toBe(true);
    for (const refused of results.slice(30)) expect(refused).toBeGreaterThanOrEqual(1);
    expect(await limiter.take(limit, "alice")).toBeGreaterThanOrEqual(1);
    // Another person's bucket is untouched.
    expect(await limiter.take(limit, "bob")).toBeNull();
  });

  test("many people's checks in one turn of the event loop go to Redis as one script call", async () => {
    const limiter = instance();
    const crowd = await watchBucket("crowd-");
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => limiter.take(limit, `crowd-${i}`)));
    expect(results).toEqual(Array(20).fill(null));
    expect(await crowd.calls()).toBe(1);
    // Each person's bucket was charged once: 29 more each, then refused.
    const again = await Promise.all(Array.from({ length: 20 }, (_, i) => takeMany(limiter, `crowd-${i}`, 30)));
    for (const person of again) expect(person.filter((r) => r === null).length).toBe(29);
  });

  test("one person's checks in one turn are each charged, in order", async () => {
    const limiter = instance();
    const bucket = await watchBucket("twice");
    const results = await takeMany(limiter, "twice", 32);
    expect(await bucket.calls()).toBe(1);
    expect(results.slice(0, 30)).toEqual(Array(30).fill(null));
    expect(results[30]).toBeGreaterThanOrEqual(1);
    expect(results[31]).toBeGreaterThanOrEqual(1);
  });

  test("two instances sharing one Redis let through exactly the limit together", async () => {
    const a = instance();
    const b = instance();
    let allowed = 0;
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all([takeMany(a, "shared", 2), takeMany(b, "shared", 2)]);
      allowed += results.flat().filter((r) => r === null).length;
    }
    expect(allowed).toBe(30);
  });
});

describe.skipIf(!withRedis)("a fast limit (the one on messages) in Redis", () => {
  const fast: Limit = { ...limit, name: "test-fast", fast: true };
  const fastNames = (key: string) => names.rateLimit(fast.name, key);

  /** Whether a take answered before the event loop turned: decided here, not by Redis. */
  const answeredAtOnce = async (limiter: RateLimiter, which: Limit | string, key?: string) => {
    const [l, k] = typeof which === "string" ? [fast, which] : [which, key!];
    let turned = false;
    setImmediate(() => (turned = true));
    const result = await limiter.take(l, k);
    return { result, atOnce: !turned };
  };

  test("far from the limit a take does not wait for Redis, and Redis is still charged for it", async () => {
    const a = instance();
    // The first take in a process asks Redis: nothing is known of the bucket yet.
    expect(await answeredAtOnce(a, "quick")).toEqual({ result: null, atOnce: false });
    for (let i = 0; i < 3; i++) expect(await answeredAtOnce(a, "quick")).toEqual({ result: null, atOnce: true });
    await Bun.sleep(CHARGE_DELAY_MS + 250); // the charges follow within CHARGE_DELAY_MS, by themselves
    // Another instance sees all four taken: 26 left of 30.
    const b = instance();
    const results = await takeMany(b, "quick", 30, fast);
    expect(results.filter((r) => r === null).length).toBe(26);
    const redis = new Redis(process.env.REDIS_URL!);
    expect(Number(await redis.get(fastNames("quick")))).toBeGreaterThan(Date.now());
    await redis.quit();
  });

  test("charges made turn after turn go to Redis together, and a check that asks Redis takes them along at once", async () => {
    const watch = await watchBucket("together");
    const fastBucket = { ...fast, name: limit.name }; // watchBucket looks for this limit's keys
    // Charges wait a whole minute here, so however slow the machine, they have not gone yet
    // when the flush (as at shutdown) sends them.
    const a = instance(60_000);
    expect(await answeredAtOnce(a, fastBucket, "together")).toEqual({ result: null, atOnce: false });
    for (let i = 0; i < 3; i++) {
      await Bun.sleep(2); // turns apart, and Redis answers in between
      expect(await answeredAtOnce(a, fastBucket, "together")).toEqual({ result: null, atOnce: true });
    }
    expect(await watch.calls()).toBe(1);
    await a.flush();
    // The first take's call, then one for the three charges: not one a turn.
    expect(await watch.calls()).toBe(2);

    // Three more charges, then a take that must ask Redis (a bucket it has not seen): once it
    // is answered, the charges are in Redis too, with no wait for their timer.
    for (let i = 0; i < 3; i++) expect(await answeredAtOnce(a, fastBucket, "together")).toEqual({ result: null, atOnce: true });
    expect(await answeredAtOnce(a, fastBucket, "together-other")).toEqual({ result: null, atOnce: false });
    const b = instance();
    const results = await takeMany(b, "together", 30, fastBucket);
    expect(results.filter((r) => r === null).length).toBe(23);
  });

  test("one instance still holds the limit exactly: near it, every take waits for Redis", async () => {
    const a = instance();
    let allowed = 0;
    const waited: boolean[] = [];
    for (let i = 0; i < 40; i++) {
      const { result, atOnce } = await answeredAtOnce(a, "edge");
      if (result === null) allowed++;
      else expect(result).toBeGreaterThanOrEqual(1);
      waited.push(!atOnce);
    }
    expect(allowed).toBe(30);
    // With less than half the bucket left, no take was decided here.
    expect(waited.slice(15)).toEqual(Array(25).fill(true));
  });

  test("checks arriving turn after turn while earlier ones are still with Redis: one instance still lets exactly the burst through", async () => {
    // Some take the fast way and some wait for Redis; a fast decision made while a waiting
    // check's answer is still out would not count what that check takes. (A race: the version
    // that allowed it let 30 of 29 through here in four runs of six.)
    const a = instance();
    const keys = Array.from({ length: 200 }, (_, k) => `turns-${k}`);
    await Promise.all(keys.map((key) => a.take(fast, key)));
    const takes: Promise<number | null>[][] = keys.map(() => []);
    for (let turn = 0; turn < 40; turn++) {
      keys.forEach((key, k) => takes[k]!.push(a.take(fast, key), a.take(fast, key)));
      await new Promise((next) => setImmediate(next));
      if (turn % 4 === 3) await Bun.sleep(1); // let some answers in between
    }
    for (const person of takes) expect((await Promise.all(person)).filter((r) => r === null).length).toBe(29);
  });

  test("two instances together let through the limit, and at most an eighth of it more", async () => {
    const a = instance();
    const b = instance();
    let allowed = 0;
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all([takeMany(a, "fastshared", 2, fast), takeMany(b, "fastshared", 2, fast)]);
      allowed += results.flat().filter((r) => r === null).length;
    }
    expect(allowed).toBe(30);
    // The worst case: one instance's view is old when the other spends the bucket.
    const c = instance();
    const d = instance();
    expect(await c.take(fast, "stale")).toBeNull();
    expect((await takeMany(d, "stale", 40, fast)).filter((r) => r === null).length).toBe(29);
    const late = (await takeMany(c, "stale", 10, fast)).filter((r) => r === null).length;
    expect(late).toBeLessThanOrEqual(Math.floor(fast.burst / 8));
    // And once Redis has answered, c refuses like everyone else.
    await Bun.sleep(50);
    expect(await c.take(fast, "stale")).toBeGreaterThanOrEqual(1);
  });
});

describe("rate limits in the process (no Redis)", () => {
  test("exactly the burst, then refusals with a wait", async () => {
    const limiter = memoryRateLimiter();
    const results = await takeMany(limiter, "alice", 35);
    expect(results.filter((r) => r === null).length).toBe(30);
    expect(results[34]).toBeGreaterThanOrEqual(1);
  });
});
