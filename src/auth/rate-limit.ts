// Rate limits, shared by every instance through Redis (in the process without it). Each limit
// is a token bucket in GCRA form: one number per key, the time at which its bucket will be
// full again, so taking tokens is one atomic script and the state expires by itself. An
// instance takes a fast sender's tokens a few at a time (a lease, below), so most checks
// need no round trip.
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
 * Takes tokens from several buckets at once (the refills of one tick, for different people):
 * KEYS[i] holds bucket i's "full again" time; ARGV[1] is now, then per bucket its interval,
 * tolerance and how many it wants. Answers per bucket how many it took, or, when none were
 * left, the milliseconds until one is, negated.
 */
const TAKE = `
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i - 1])
  local tolerance = tonumber(ARGV[3 * i])
  local want = tonumber(ARGV[3 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local room = math.floor((tolerance - (tat - now)) / interval + 1e-6)
  if room < 1 then
    out[i] = -math.max(1, math.ceil(tat + interval - tolerance - now))
  else
    local taken = math.min(room, want)
    tat = tat + taken * interval
    redis.call('SET', KEYS[i], tat, 'PX', math.ceil(tat - now))
    out[i] = taken
  end
end
return out`;

interface LimitCommands {
  parleyRateTake(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
}

/**
 * Tokens an instance took from the shared bucket and has not spent yet. A person who sends
 * fast is served from here without a round trip to Redis; the bucket in Redis has already
 * counted these tokens, so no instance can let through more than the limit. What a lease
 * costs: tokens it holds when it lapses are lost, so a person whose requests go to several
 * instances at once may be refused a few requests early.
 */
interface Lease {
  tokens: number;
  /** When unspent tokens are given up. */
  until: number;
  /** How many to ask for next: one for a person who sends now and then, more for a fast one. */
  size: number;
  /** A refill in flight: null when it brought tokens, else the seconds until one is free. */
  refill: Promise<number | null> | null;
}

const LEASE_MS = 1000;
/** At most this many tokens, and at most a quarter of the burst, are held by one instance. */
const MAX_LEASE = 16;
const MAX_LEASES = 50_000;

export function redisRateLimiter(redis: Redis, names: RedisNames): RateLimiter {
  redis.defineCommand("parleyRateTake", { lua: TAKE });
  const scripts = redis as unknown as LimitCommands;
  const leases = new Map<string, Lease>();

  // The refills asked for in one turn of the event loop go to Redis as one script call: under
  // load that is many people's at once, and a command each cost this process more than the
  // check itself. (At most one refill per bucket is in flight, so no key repeats.)
  let pending: { id: string; limit: Limit; want: number; done: (taken: number) => void; failed: (err: unknown) => void }[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    const args: (string | number)[] = [Date.now()];
    for (const { limit, want } of batch) {
      const interval = limit.perMs / limit.rate;
      args.push(interval, interval * limit.burst, want);
    }
    scripts.parleyRateTake(batch.length, ...batch.map((r) => r.id), ...args).then(
      (results) => batch.forEach((r, i) => r.done(Number(results[i]))),
      (err) => batch.forEach((r) => r.failed(err)),
    );
  };
  const takeFromBucket = (id: string, limit: Limit, want: number) =>
    new Promise<number>((done, failed) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ id, limit, want, done, failed });
    });

  const refill = async (id: string, limit: Limit, lease: Lease): Promise<number | null> => {
    const taken = await takeFromBucket(id, limit, lease.size);
    if (taken < 0) return Math.max(1, Math.ceil(-taken / 1000));
    lease.tokens = taken;
    lease.until = Date.now() + LEASE_MS;
    return null;
  };

  const sweep = (now: number) => {
    for (const [id, lease] of leases) if (lease.until <= now && !lease.refill) leases.delete(id);
  };

  return {
    take: async (limit, key) => {
      const id = names.rateLimit(limit.name, key);
      let lease = leases.get(id);
      if (!lease) {
        if (leases.size >= MAX_LEASES) sweep(Date.now());
        lease = { tokens: 0, until: 0, size: 1, refill: null };
        leases.set(id, lease);
      }
      for (;;) {
        if (lease.tokens > 0 && lease.until > Date.now()) {
          // Spending a whole lease before it lapses: this person is fast, ask for more next time.
          if (--lease.tokens === 0) lease.size = Math.min(MAX_LEASE, Math.max(1, Math.floor(limit.burst / 4)), lease.size * 2);
          return null;
        }
        if (lease.tokens > 0) {
          lease.tokens = 0;
          lease.size = 1;
        }
        const current = lease;
        current.refill ??= refill(id, limit, current).finally(() => {
          current.refill = null;
        });
        // Everyone waiting shares one refill; whoever finds it spent by the others asks again.
        const refused = await current.refill;
        if (refused !== null) return refused;
      }
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
