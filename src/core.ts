// Everything a request needs, built once from the configuration: the database, Redis (or
// its in-process stand-ins), sessions, counters, the bus, fan-out and the message writer.
// Routes, sockets and streams receive this and nothing else.
import Redis from "ioredis";
import type { Config } from "./config.ts";
import { connectPostgres, openEmbedded, type Db } from "./db/client.ts";
import { migrate } from "./db/migrate.ts";
import { keepVacuumed } from "./db/vacuum.ts";
import { schema, threads as tq } from "./db/queries.ts";
import { redisNames, topics } from "./realtime/topics.ts";
import { CLOSE } from "./realtime/live.ts";
import { createLogger, type Logger } from "./log.ts";
import { Sessions, databaseSessionStore, redisSessionStore } from "./auth/session.ts";
import { memoryCounterStore, redisCounterStore, type CounterStore } from "./chat/counters.ts";
import { MessageWriter } from "./chat/writer.ts";
import { onCommitted } from "./chat/send.ts";
import { messagesOf } from "./chat/threads.ts";
import { memoryBus, redisBus, type Bus, type BusHandler } from "./realtime/bus.ts";
import { Fanout, type SocketHub } from "./realtime/fanout.ts";
import { render } from "./realtime/render.ts";
import { LiveClients } from "./realtime/live.ts";
import { HEARTBEAT_MS, memoryPresence, redisPresence, type PresenceStore } from "./realtime/presence.ts";
import { announcePresence } from "./chat/presence.ts";
import { blockedIds } from "./chat/blocks.ts";
import { Limits, memoryRateLimiter, redisRateLimiter } from "./auth/rate-limit.ts";

export interface Core {
  readonly config: Config;
  readonly log: Logger;
  readonly instanceId: string;
  readonly db: Db;
  /** Null in embedded mode: sessions live in the database, counters and topics in the process. */
  readonly redis: Redis | null;
  readonly sessions: Sessions;
  readonly counters: CounterStore;
  readonly bus: Bus;
  readonly fanout: Fanout;
  readonly writer: MessageWriter;
  /** This instance's open sockets and streams. */
  readonly live: LiveClients;
  readonly presence: PresenceStore;
  readonly limits: Limits;
  /** Bun's server once listening: fan-out publishes to its native socket topics. */
  hub: SocketHub | undefined;
  /** Set when a stop has begun: /healthz answers 503 so the balancer sends no more. */
  draining: boolean;
  close(): Promise<void>;
}

const SESSION_SWEEP_MS = 3600_000;
/** How long after their last connection here closed a person counts as gone. */
const OFFLINE_GRACE_MS = 5000;

export async function createCore(config: Config): Promise<Core> {
  const log = createLogger(config.logLevel, config.instanceName);
  const instanceId = `${config.instanceName}-${crypto.randomUUID().slice(0, 8)}`;

  const db = config.databaseUrl ? connectPostgres(config.databaseUrl) : await openEmbedded(config.dataDir);
  log.info(config.databaseUrl ? "database: PostgreSQL" : `database: embedded PGlite in ${config.dataDir}`);
  await migrate(db, (line) => log.info(line));
  const [installation] = await schema.installation(db);
  const names = redisNames(installation!.id);

  let redis: Redis | null = null;
  if (config.redisUrl) {
    // Auto-pipelining: the commands of one tick (a batch's counters, sessions) go out together.
    redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, enableAutoPipelining: true, connectionName: `parley-${instanceId}` });
    redis.on("error", (err: Error) => log.warn(`redis: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      redis!.once("ready", resolve);
      redis!.once("end", () => reject(new Error(`could not connect to Redis at REDIS_URL`)));
      setTimeout(() => reject(new Error("timed out connecting to Redis at REDIS_URL")), 10_000).unref();
    });
    log.info("redis: connected");
  } else {
    log.info("redis: none configured; sessions in the database, counters and topics in the process");
  }

  const deliver: BusHandler = (topic, event) => fanout.receive(topic, event);
  const bus = config.redisUrl ? redisBus(config.redisUrl, names, instanceId, deliver, log) : memoryBus(deliver);
  const fanout: Fanout = new Fanout({
    bus,
    hub: () => core.hub,
    render,
    lastSeq: async (threadId) => (await tq.lastSeq(db, threadId))[0]?.lastSeq ?? 0,
    messagesAfter: (threadId, after, limit) => messagesOf(db, threadId, { after, limit }),
    // A member removed (or gone) stops receiving at the line that says so, on every
    // instance: nothing after it reaches their connections.
    afterDispatch: (_topic, event) => {
      if (event.type !== "message" || event.message.kind !== "system") return;
      const e = event.message.event;
      const gone = e?.type === "member_removed" ? e.member.id : e?.type === "member_left" ? event.message.sender.id : null;
      if (gone !== null) core.live.leaveThread(gone, event.message.threadId);
    },
    log,
  });
  bus.onResync(() => {
    fanout.resync();
    core.sessions.forgetAll();
  });

  const core: Core = {
    config,
    log,
    instanceId,
    db,
    redis,
    sessions: new Sessions(redis ? redisSessionStore(redis, names) : databaseSessionStore(db), (userId, sessionId) =>
      bus.publish(topics.control, { type: "revoke", userId, sessionId }),
    ),
    counters: redis ? redisCounterStore(redis, names) : memoryCounterStore(),
    bus,
    fanout,
    writer: new MessageWriter(
      db,
      (results) => onCommitted(core, results),
      (err) => log.error(`send transaction failed: ${(err as Error)?.stack ?? err}`),
    ),
    live: new LiveClients(
      (userId) => void presenceChange(userId, true),
      // Not at once: moving from one page to the next closes a socket and opens another, and
      // contacts should not see that as leaving and coming back.
      (userId) => setTimeout(() => core.live.has(userId) || void presenceChange(userId, false), OFFLINE_GRACE_MS).unref(),
    ),
    presence: redis ? redisPresence(redis, names, instanceId) : memoryPresence(),
    limits: new Limits(redis ? redisRateLimiter(redis, names) : memoryRateLimiter(), config.rateLimitScale),
    hub: undefined,
    draining: false,
    close: async () => {
      stopVacuuming();
      clearInterval(sweeper);
      clearInterval(heartbeat);
      await core.writer.drain();
      // What waits to be charged or counted goes before the connection does.
      await Promise.allSettled([core.limits.flush(), core.counters.flush()]);
      await bus.close();
      await redis?.quit().catch(() => {});
      await db.close();
    },
  };
  // The sessions this instance keeps copies of live in Redis, which may come back without
  // them (restarted empty): the copies go when the link drops, not at the bus's resync after
  // it is back, which can come a moment after requests are answered again.
  redis?.on("close", () => core.sessions.forgetAll());
  // Online when a first connection opens anywhere, offline when the last one closes
  // everywhere: contacts hear of the change.
  const presenceChange = async (userId: number, arrived: boolean) => {
    try {
      const changed = arrived ? await core.presence.join(userId) : await core.presence.leave(userId);
      if (changed) await announcePresence(core, userId, arrived, Date.now());
    } catch (err) {
      log.warn(`presence: ${(err as Error).message}`);
    }
  };
  const heartbeat = setInterval(() => core.presence.heartbeat(core.live.users()).catch(() => {}), HEARTBEAT_MS);
  heartbeat.unref();

  // Expired sessions are refused on sight; this only keeps the table from growing.
  const sweep = () => core.sessions.sweep().catch((err: Error) => log.warn(`session sweep: ${err.message}`));
  void sweep();
  const sweeper = setInterval(sweep, SESSION_SWEEP_MS);
  sweeper.unref();
  const stopVacuuming = keepVacuumed(db, log);

  // Every instance follows the control topic: a logout anywhere closes this instance's
  // connections of that session.
  await fanout.acquire(topics.control);
  fanout.listen(topics.control, ({ event }) => {
    if (event.type === "revoke") {
      core.sessions.forget(event.userId, event.sessionId);
      core.live.closeSessions(event.userId, event.sessionId, CLOSE.unauthenticated, "logged out");
    }
    if (event.type === "left") core.live.leaveThread(event.userId, event.threadId);
    if (event.type === "blocks" && core.live.has(event.userId)) {
      blockedIds(core, event.userId).then(
        (ids) => core.live.each(event.userId, (client) => client.setBlocked(ids)),
        (err: Error) => log.warn(`blocks: ${err.message}`),
      );
    }
  });
  return core;
}
