// Online / last seen. A person is online while any instance holds a live connection of
// theirs. Each instance keeps its own claim per person in Redis (a hash field per instance,
// holding when the claim lapses, refreshed every HEARTBEAT_MS), so a crashed instance's claims
// simply run out. Without Redis, the process's own count is the truth.
// Transitions (offline → online, online → offline) are what people hear about, on the feeds
// of those they share a conversation with; someone who hides their presence is never shown.
import type Redis from "ioredis";
import type { RedisNames } from "./topics.ts";

/** How often an instance renews its claims; a claim lapses after LEASE_MS without renewal. */
export const HEARTBEAT_MS = 15_000;
const LEASE_MS = 45_000;

export interface PresenceStatus {
  online: boolean;
  /** When they were last online (ms since the epoch), or null if never seen. */
  lastSeen: number | null;
}

export interface PresenceStore {
  /** This instance now has a connection of theirs. True when they were offline everywhere. */
  join(userId: number): Promise<boolean>;
  /** This instance's last connection of theirs closed. True when they are now offline everywhere. */
  leave(userId: number): Promise<boolean>;
  /** Renews this instance's claims on everyone connected here. */
  heartbeat(userIds: number[]): Promise<void>;
  status(userIds: number[]): Promise<Map<number, PresenceStatus>>;
}

export function memoryPresence(): PresenceStore {
  const connected = new Set<number>();
  const lastSeen = new Map<number, number>();
  return {
    join: async (userId) => {
      const was = connected.has(userId);
      connected.add(userId);
      lastSeen.set(userId, Date.now());
      return !was;
    },
    leave: async (userId) => {
      connected.delete(userId);
      lastSeen.set(userId, Date.now());
      return true;
    },
    heartbeat: async (userIds) => {
      for (const id of userIds) lastSeen.set(id, Date.now());
    },
    status: async (userIds) => new Map(userIds.map((id) => [id, { online: connected.has(id), lastSeen: lastSeen.get(id) ?? null }])),
  };
}

// KEYS[1] the person's claims, KEYS[2] everyone's last-seen times; ARGV: instance, now, lease, user.
// Drops lapsed claims, then adds or removes this instance's; returns how many live claims there
// were before (JOIN, this instance's own included: a quick reconnect is not coming online) or
// are left (LEAVE).
const JOIN = `
local now = tonumber(ARGV[2])
local others = 0
local claims = redis.call('HGETALL', KEYS[1])
for i = 1, #claims, 2 do
  if tonumber(claims[i + 1]) <= now then redis.call('HDEL', KEYS[1], claims[i])
  else others = others + 1 end
end
redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('HSET', KEYS[2], ARGV[4], now)
return others`;

const LEAVE = `
local now = tonumber(ARGV[2])
redis.call('HDEL', KEYS[1], ARGV[1])
local others = 0
local claims = redis.call('HGETALL', KEYS[1])
for i = 1, #claims, 2 do
  if tonumber(claims[i + 1]) > now then others = others + 1 end
end
redis.call('HSET', KEYS[2], ARGV[4], now)
return others`;

interface PresenceCommands {
  parleyPresenceJoin(claims: string, lastSeen: string, instance: string, now: number, lease: number, user: number): Promise<number>;
  parleyPresenceLeave(claims: string, lastSeen: string, instance: string, now: number, lease: number, user: number): Promise<number>;
}

export function redisPresence(redis: Redis, names: RedisNames, instanceId: string): PresenceStore {
  redis.defineCommand("parleyPresenceJoin", { numberOfKeys: 2, lua: JOIN });
  redis.defineCommand("parleyPresenceLeave", { numberOfKeys: 2, lua: LEAVE });
  const scripts = redis as unknown as PresenceCommands;
  return {
    join: async (userId) => (await scripts.parleyPresenceJoin(names.presence(userId), names.lastSeen, instanceId, Date.now(), LEASE_MS, userId)) === 0,
    leave: async (userId) => (await scripts.parleyPresenceLeave(names.presence(userId), names.lastSeen, instanceId, Date.now(), LEASE_MS, userId)) === 0,
    heartbeat: async (userIds) => {
      if (userIds.length === 0) return;
      const until = Date.now() + LEASE_MS;
      const pipeline = redis.pipeline();
      for (const id of userIds) {
        pipeline.hset(names.presence(id), instanceId, until).pexpire(names.presence(id), LEASE_MS).hset(names.lastSeen, String(id), Date.now());
      }
      await pipeline.exec();
    },
    status: async (userIds) => {
      const now = Date.now();
      const pipeline = redis.pipeline();
      for (const id of userIds) pipeline.hvals(names.presence(id));
      pipeline.hmget(names.lastSeen, ...userIds.map(String));
      const results = (await pipeline.exec()) ?? [];
      const seen = (results.at(-1)?.[1] as (string | null)[] | undefined) ?? [];
      return new Map(
        userIds.map((id, i) => {
          const claims = (results[i]?.[1] as string[] | undefined) ?? [];
          const last = seen[i];
          return [id, { online: claims.some((until) => Number(until) > now), lastSeen: last ? Number(last) : null }];
        }),
      );
    },
  };
}
