// Rate limits, shared by every instance through Redis (in the process without it). Each limit
// is a token bucket in GCRA form: one number per key, the time at which its bucket will be
// full again, so a check is one atomic script and the state expires by itself.
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

const TAKE = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next = tat + interval
if next - now > tolerance then return math.ceil(next - tolerance - now) end
redis.call('SET', KEYS[1], next, 'PX', math.ceil(next - now))
return -1`;

interface LimitCommands {
  parleyRateTake(key: string, now: number, interval: number, tolerance: number): Promise<number>;
}

export function redisRateLimiter(redis: Redis, names: RedisNames): RateLimiter {
  redis.defineCommand("parleyRateTake", { numberOfKeys: 1, lua: TAKE });
  const scripts = redis as unknown as LimitCommands;
  return {
    take: async (limit, key) => {
      const interval = limit.perMs / limit.rate;
      const retryMs = await scripts.parleyRateTake(names.rateLimit(limit.name, key), Date.now(), interval, interval * limit.burst);
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
