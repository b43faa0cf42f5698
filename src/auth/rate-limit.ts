// Rate limits, shared by every instance through Redis (in the process without it). Each limit
// is a token bucket in GCRA form: one number per key, the time at which its bucket will be
// full again, so a check is one atomic script and the state expires by itself. The checks of
// one turn of the event loop share a script call (below), and a send far from its limit does
// not wait for that call at all (see redisRateLimiter).
import type Redis from "ioredis";
import { AppError } from "../errors.ts";
import type { RedisNames } from "../realtime/topics.ts";

export interface Limit {
  /** Names the limit in keys and errors. */
  name: string;
  /** How many may come at once (the bucket's size). */
  burst: number;
  /** How many per `perMs` in the long run. */
  rate: number;
  perMs: number;
  /**
   * May be decided in the process while Redis says the bucket is far from spent, Redis being
   * charged behind (see redisRateLimiter); near the limit it is decided by Redis, exactly.
   * For limits on every message; the limits that guard passwords always wait for Redis.
   */
  fast?: boolean;
}

export interface RateLimiter {
  /** Takes one from the bucket; null when allowed, else the seconds until one is. */
  take(limit: Limit, key: string): Promise<number | null>;
  /** Sends what is waiting to be charged (before a shutdown). */
  flush(): Promise<void>;
}

/** Times in ms: when the bucket would be full again, given one more taken now. */
function gcra(tat: number, now: number, limit: Limit): { allowed: boolean; tat: number; retryMs: number } {
  const interval = limit.perMs / limit.rate;
  const tolerance = interval * limit.burst;
  const next = Math.max(tat, now) + interval;
  if (next - now > tolerance) return { allowed: false, tat, retryMs: next - tolerance - now };
  return { allowed: true, tat: next, retryMs: 0 };
}

export function memoryRateLimiter(): RateLimiter {
  const buckets = new Map<string, number>();
  return {
    take: async (limit, key) => {
      const id = `${limit.name}:${key}`;
      const now = Date.now();
      const result = gcra(buckets.get(id) ?? now, now, limit);
      if (!result.allowed) return Math.max(1, Math.ceil(result.retryMs / 1000));
      buckets.set(id, result.tat);
      // Drop buckets that are full again, now and then, so the map stays small.
      if (buckets.size > 100_000) for (const [k, tat] of buckets) if (tat <= now) buckets.delete(k);
      return null;
    },
    flush: async () => {},
  };
}

/**
 * Charges several buckets one token each (the checks of one turn of the event loop, usually
 * different people's; a bucket that appears twice is charged twice, in order). KEYS[i] holds
 * bucket i's "full again" time; ARGV[1] is now, then per bucket its interval, its tolerance
 * and 1 to take the token only if there is one, 0 to charge it regardless (a send this process
 * already let through). Answers per bucket two values: -1 when the token was taken, else the
 * milliseconds until one is; then the bucket's "full again" time as it is now.
 */
const TAKE = `
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i - 1])
  local tolerance = tonumber(ARGV[3 * i])
  local take = ARGV[3 * i + 1] == '1'
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local next = tat + interval
  if take and next - now > tolerance then
    out[2 * i - 1] = math.max(1, math.ceil(next - tolerance - now))
  else
    redis.call('SET', KEYS[i], next, 'PX', math.ceil(next - now))
    out[2 * i - 1] = -1
    tat = next
  end
  out[2 * i] = string.format('%.17g', tat)
end
return out`;

interface LimitCommands {
  parleyRateTake(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<(number | string)[]>;
}

/** Checks per script call: bounds the call's size, however many arrive in one turn. */
const MAX_PER_CALL = 500;

/**
 * How long the charges for sends already let through may wait for a script call. A check
 * that needs Redis's answer takes them along at once; on their own they wait, so under a
 * steady flow of messages there are a few calls a second instead of one a turn of the event
 * loop, which on a VM with slow system calls cost Parley and Redis more than the sends'
 * other work (bench/RESULTS.md, section 14).
 */
export const CHARGE_DELAY_MS = 25;

/**
 * How long what Redis last said of a bucket may decide a fast limit here. Past it, the next
 * check waits for Redis again (and the view is forgotten).
 */
const VIEW_MS = 10_000;

interface Check {
  key: string;
  interval: number;
  tolerance: number;
  /** Of a fast limit: what Redis answers keeps this process's view of the bucket. */
  fast: boolean;
  /** Already let through here: Redis is charged, not asked. */
  charge: boolean;
  done: (retryMs: number) => void;
  failed: (err: unknown) => void;
}

/** What this process knows of a fast limit's bucket: Redis's last answer and its own sends since. */
interface View {
  /** The bucket's "full again" time: Redis's last answer, plus the charges still on their way. */
  tat: number;
  /** Let through here, Redis not yet charged. */
  unconfirmed: number;
  /** Checks sent to Redis to decide, not yet answered: what they take is not in tat yet. */
  asking: number;
  /** When Redis last answered for it (never, for a view made by a check on its way). */
  seenAt: number;
}

const ignore = () => {};

/**
 * Limits kept in Redis, so every instance counts against the same buckets. The checks of one
 * turn of the event loop go to Redis as one script call: under load that is many people's at
 * once, and a command each cost this process more than the check itself.
 *
 * A fast limit (the one on every message) is decided here, with no wait, while Redis's last
 * word on the bucket, less what this process let through since, leaves at least half of it,
 * at most an eighth of it waits to be charged, and no check of it waits for Redis's decision;
 * the charge follows within CHARGE_DELAY_MS all the same. Waiting for Redis on every message
 * put a round trip to another process in front of each send (bench/RESULTS.md, section 10).
 * Near the limit every check waits for Redis, so one instance holds a limit exactly. Across
 * instances, an instance whose view is behind what others let through may let up to an
 * eighth of a burst more through before its next answer from Redis corrects it.
 */
export function redisRateLimiter(redis: Redis, names: RedisNames, chargeDelayMs = CHARGE_DELAY_MS): RateLimiter {
  redis.defineCommand("parleyRateTake", { lua: TAKE });
  const scripts = redis as unknown as LimitCommands;
  const views = new Map<string, View>();
  let sweptAt = Date.now();

  /** A fast check is answered (with the bucket's "full again" time) or failed (null). */
  const settle = (check: Check, tat: number | null) => {
    const view = views.get(check.key)!; // made when the check was sent; never swept while it is out
    if (check.charge) view.unconfirmed--;
    else view.asking--;
    if (tat === null) return;
    // Answers come in the order the checks went; the charges sent after this one are not in it.
    view.tat = tat + view.unconfirmed * check.interval;
    view.seenAt = Date.now();
  };

  let pending: Check[] = [];
  /** A turn's flush is due (some check waits for Redis's answer), or charges' timer is set. */
  let soon = false;
  let chargeTimer: ReturnType<typeof setTimeout> | null = null;
  /** Calls sent and not yet answered: what flush() waits for. */
  const out = new Set<Promise<unknown>>();
  const send = (batch: Check[]) => {
    const args: number[] = [Date.now()];
    for (const check of batch) args.push(check.interval, check.tolerance, check.charge ? 0 : 1);
    const call = scripts.parleyRateTake(batch.length, ...batch.map((c) => c.key), ...args).then(
      (results) =>
        batch.forEach((check, i) => {
          if (check.fast) settle(check, Number(results[2 * i + 1]));
          check.done(Number(results[2 * i]));
        }),
      (err) => fail(batch, err),
    );
    out.add(call);
    void call.finally(() => out.delete(call));
  };
  const fail = (batch: Check[], err: unknown) => {
    for (const check of batch) {
      if (check.fast) settle(check, null);
      check.failed(err);
    }
  };
  const flush = () => {
    soon = false;
    if (chargeTimer) clearTimeout(chargeTimer);
    chargeTimer = null;
    const all = pending;
    pending = [];
    for (let i = 0; i < all.length; i += MAX_PER_CALL) {
      const batch = all.slice(i, i + MAX_PER_CALL);
      try {
        send(batch);
      } catch (err) {
        fail(batch, err);
      }
    }
    const now = Date.now();
    if (now - sweptAt > VIEW_MS) {
      sweptAt = now;
      for (const [key, view] of views) {
        if (view.unconfirmed === 0 && view.asking === 0 && now - view.seenAt > VIEW_MS) views.delete(key);
      }
    }
  };
  const enqueue = (check: Check) => {
    if (check.fast && !check.charge) {
      let view = views.get(check.key);
      if (!view) views.set(check.key, (view = { tat: 0, unconfirmed: 0, asking: 0, seenAt: -Infinity }));
      view.asking++;
    }
    pending.push(check);
    if (!check.charge) {
      if (!soon) {
        soon = true;
        setImmediate(flush);
      }
    } else if (!soon && !chargeTimer) {
      chargeTimer = setTimeout(flush, chargeDelayMs);
      chargeTimer.unref();
    }
  };

  return {
    take: async (limit, key) => {
      const bucket = names.rateLimit(limit.name, key);
      const interval = limit.perMs / limit.rate;
      const tolerance = interval * limit.burst;
      if (limit.fast) {
        const now = Date.now();
        const view = views.get(bucket);
        if (view && view.asking === 0 && now - view.seenAt <= VIEW_MS && view.unconfirmed < Math.floor(limit.burst / 8)) {
          const next = Math.max(view.tat, now) + interval;
          // What is left after this one: at least half the bucket.
          if (next - now <= tolerance / 2) {
            view.tat = next;
            view.unconfirmed++;
            enqueue({ key: bucket, interval, tolerance, fast: true, charge: true, done: ignore, failed: ignore });
            return null;
          }
        }
      }
      const retryMs = await new Promise<number>((done, failed) =>
        enqueue({ key: bucket, interval, tolerance, fast: limit.fast === true, charge: false, done, failed }),
      );
      return retryMs < 0 ? null : Math.max(1, Math.ceil(retryMs / 1000));
    },
    flush: async () => {
      if (pending.length > 0) flush();
      await Promise.allSettled([...out]);
    },
  };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Parley's limits. Generous for people, tight for scripts; RATE_LIMIT_SCALE multiplies them
 * all (tests and benchmarks raise it, since they are one address doing the work of thousands).
 */
export const LIMITS = {
  /** Guessing one account's password: a person mistypes a few times, not ten a minute. */
  loginPerAccount: { name: "login-account", burst: 10, rate: 10, perMs: 15 * MINUTE },
  /** Guessing many accounts from one address (a household or office shares one). */
  loginPerAddress: { name: "login-address", burst: 30, rate: 60, perMs: 15 * MINUTE },
  signupPerAddress: { name: "signup-address", burst: 5, rate: 20, perMs: HOUR },
  /** A fast typist sends a few a second; a flood sends hundreds. */
  messagesPerPerson: { name: "messages", burst: 30, rate: 10, perMs: 1000, fast: true },
  /** Starting conversations: spam starts many, people start a few. */
  conversationsPerPerson: { name: "conversations", burst: 20, rate: 60, perMs: HOUR },
} satisfies Record<string, Limit>;

export class Limits {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly scale: number,
  ) {}

  /** Sends the charges still waiting (before a shutdown). */
  flush(): Promise<void> {
    return this.limiter.flush();
  }

  /** Throws 429 rate_limited (with Retry-After) when a limit is spent. */
  async check(limit: Limit, key: string | number): Promise<void> {
    if (this.scale === 0) return;
    const scaled = this.scale === 1 ? limit : { ...limit, burst: limit.burst * this.scale, rate: limit.rate * this.scale };
    let retryAfter: number | null;
    try {
      retryAfter = await this.limiter.take(scaled, String(key));
    } catch {
      return; // Redis away: let people through rather than refuse everyone
    }
    if (retryAfter !== null) {
      throw new AppError("rate_limited", `Too many requests: try again in ${retryAfter} s.`, { retryAfter });
    }
  }
}
