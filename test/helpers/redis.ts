// Tests of a Redis-backed store: an installation of its own (so its keys never meet another
// test's), a connection per simulated instance, and everything deleted and closed afterwards.
import { afterAll } from "bun:test";
import Redis from "ioredis";
import { redisNames, type RedisNames } from "../../src/realtime/topics.ts";
import { withRedis } from "./server.ts";

export function redisTestInstallation(name: string): { names: RedisNames; connect(): Redis } {
  const installation = `${name}${Date.now().toString(36)}`;
  const connections: Redis[] = [];
  afterAll(async () => {
    if (!withRedis) return;
    const redis = new Redis(process.env.REDIS_URL!);
    const keys = await redis.keys(`parley:${installation}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await Promise.all(connections.map((c) => c.quit()));
  });
  return {
    names: redisNames(installation),
    /** A connection as an instance has it (commands of one tick pipelined), closed after the file's tests. */
    connect() {
      const redis = new Redis(process.env.REDIS_URL!, { enableAutoPipelining: true });
      connections.push(redis);
      return redis;
    },
  };
}
