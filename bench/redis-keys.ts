// A benchmark's or a test run's database is dropped when it ends; its Redis keys (sessions,
// counters, limits, presence) carry that database's installation id, so they go with it.
// Otherwise every run would leave a few thousand keys behind, some with a 30-day TTL.
import Redis from "ioredis";
import { connectPostgres } from "../src/db/client.ts";
import { schema } from "../src/db/queries.ts";
import { redisNames } from "../src/realtime/topics.ts";

/** Deletes every Redis key of the installation in this database; call it before dropping it. */
export async function dropRedisKeys(redisUrl: string, databaseUrl: string): Promise<number> {
  const db = connectPostgres(databaseUrl);
  let installation: string | undefined;
  try {
    installation = (await schema.installation(db))[0]?.id;
  } catch {
    return 0; // never migrated: it wrote nothing to Redis
  } finally {
    await db.close();
  }
  if (!installation) return 0;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    for await (const keys of redis.scanStream({ match: redisNames(installation).everything, count: 1000 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    }
  } finally {
    await redis.quit();
  }
  return deleted;
}
