// Rate limits, shared by every instance through Redis (in the process without it). Each limit
// is a token bucket in GCRA form: one number per key, the time at which its bucket will be
// full again, so a check is one atomic script and the state expires by itself. The checks of
// one turn of the event loop share a script call (below).
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
}

export interface RateLimiter {
  /** Takes one from the bucket; null when allowed, else the seconds until one is. */
  take(limit: Limit, key: string): Promise<number | null>;
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
  };
}

/**
 * Takes one token from each of several buckets (the checks of one turn of the event loop,
 * usually different people's; a bucket that appears twice is charged twice, in order).
 * KEYS[i] holds bucket i's "full again" time; ARGV[1] is now, then per bucket its interval and
 * tolerance. Answers per bucket -1 when the token was taken, else the milliseconds until one is.
 */
const TAKE = `
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i])
  local tolerance = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local next = tat + interval
  if next - now > tolerance then
    out[i] = math.max(1, math.ceil(next - tolerance - now))
  else
    redis.call('SET', KEYS[i], next, 'PX', math.ceil(next - now))
    out[i] = -1
  end
end
return out`;

interface LimitCommands {
  parleyRateTake(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
}

/** Checks per script call: bounds the call's size, however many arrive in one turn. */
const MAX_PER_CALL = 500;

interface Check {
  key: string;
  limit: Limit;
  done: (retryMs: number) => void;
  failed: (err: unknown) => void;
}

export function redisRateLimiter(redis: Redis, names: RedisNames): RateLimiter {
  redis.defineCommand("parleyRateTake", { lua: TAKE });
  const scripts = redis as unknown as LimitCommands;

  // The checks of one turn of the event loop go to Redis as one script call: under load that
  // is many people's at once, and a command each cost this process more than the check itself.
  let pending: Check[] = [];
  const send = (batch: Check[]) => {
    const args: number[] = [Date.now()];
    for (const { limit } of batch) {
      const interval = limit.perMs / limit.rate;
      args.push(interval, interval * limit.burst);
    }
    scripts.parleyRateTake(batch.length, ...batch.map((c) => c.key), ...args).then(
      (results) => batch.forEach((c, i) => c.done(Number(results[i]))),
      (err) => batch.forEach((c) => c.failed(err)),
    );
  };
  const flush = () => {
    const all = pending;
    pending = [];
    for (let i = 0; i < all.length; i += MAX_PER_CALL) {
      const batch = all.slice(i, i + MAX_PER_CALL);
      try {
        send(batch);
      } catch (err) {
        batch.forEach((c) => c.failed(err));
      }
    }
  };

  return {
    take: async (limit, key) => {
      const retryMs = await new Promise<number>((done, failed) => {
        if (pending.length === 0) setImmediate(flush);
        pending.push({ key: names.rateLimit(limit.name, key), limit, done, failed });
      });
      return retryMs < 0 ? null : Math.max(1, Math.ceil(retryMs / 1000));
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
  messagesPerPerson: { name: "messages", burst: 30, rate: 10, perMs: 1000 },
  /** Starting conversations: spam starts many, people start a few. */
  conversationsPerPerson: { name: "conversations", burst: 20, rate: 60, perMs: HOUR },
} satisfies Record<string, Limit>;

export class Limits {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly scale: number,
  ) {}

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
