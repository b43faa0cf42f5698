// The bus carries events between instances. Both implementations deliver an event to this
// instance at once; the Redis one also publishes it for the others and hands theirs in.
// Delivery through the bus is at most once: what it drops, clients recover by cursor.
import Redis from "ioredis";
import type { RedisNames, Topic } from "./topics.ts";
import type { BusEvent } from "./events.ts";
import type { Logger } from "../log.ts";

export type BusHandler = (topic: Topic, event: BusEvent) => void;

export interface Bus {
  readonly kind: "memory" | "redis";
  publish(topic: Topic, event: BusEvent): void;
  /** Resolves once events published on the topic anywhere will reach this instance. */
  subscribe(topic: Topic): Promise<void>;
  unsubscribe(topic: Topic): Promise<void>;
  /** Called after the link to other instances was lost and is back: events may be missing. */
  onResync(handler: () => void): void;
  healthy(): boolean;
  close(): Promise<void>;
}

export function memoryBus(handler: BusHandler): Bus {
  return {
    kind: "memory",
    publish: (topic, event) => handler(topic, event),
    subscribe: async () => {},
    unsubscribe: async () => {},
    onResync: () => {},
    healthy: () => true,
    close: async () => {},
  };
}

interface Envelope {
  /** The instance that published: it delivered locally already and skips its own echo. */
  o: string;
  e: BusEvent;
}

export function redisBus(url: string, names: RedisNames, instanceId: string, handler: BusHandler, log: Logger): Bus {
  // Commands fail at once while Redis is away instead of queueing behind a dead link:
  // the event is stored already, and the resync below makes up for what was missed.
  const options = { maxRetriesPerRequest: 1, enableOfflineQueue: false, autoResubscribe: false } as const;
  // A subscribing connection can do nothing else, so publishing has its own.
  // The publishing connection pipelines a tick's publishes (a batch's messages and feeds).
  const pub = new Redis(url, { ...options, enableAutoPipelining: true, connectionName: `parley-pub-${instanceId}` });
  const sub = new Redis(url, { ...options, connectionName: `parley-sub-${instanceId}` });
  const wanted = new Set<string>();
  let resync: () => void = () => {};
  let connectedBefore = false;

  for (const [name, conn] of [["publisher", pub], ["subscriber", sub]] as const) {
    conn.on("error", (err: Error) => log.warn(`redis ${name}: ${err.message}`));
  }
  sub.on("ready", async () => {
    try {
      if (wanted.size > 0) await sub.subscribe(...wanted);
    } catch (err) {
      log.warn(`redis resubscribe: ${(err as Error).message}`);
    }
    // Whatever was published while the link was down never reached this instance.
    if (connectedBefore) {
      log.info(`redis subscriber back: resubscribed ${wanted.size} topics, resyncing from the database`);
      resync();
    }
    connectedBefore = true;
  });
  sub.on("messageBuffer", (name: Buffer, payload: Buffer) => {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload.toString());
    } catch {
      return;
    }
    if (envelope.o === instanceId) return;
    handler(names.topicOfChannel(name.toString()), envelope.e);
  });

  return {
    kind: "redis",
    publish(topic, event) {
      handler(topic, event);
      const envelope: Envelope = { o: instanceId, e: event };
      pub.publish(names.channel(topic), JSON.stringify(envelope)).catch((err: Error) => {
        log.warn(`redis publish ${topic}: ${err.message}`);
      });
    },
    subscribe: async (topic) => {
      const name = names.channel(topic);
      wanted.add(name);
      // Not connected (yet, or for now): the "ready" handler subscribes to all that is wanted.
      if (sub.status !== "ready") return;
      try {
        await sub.subscribe(name);
      } catch (err) {
        // Local delivery goes on; the subscription is made when the link comes back.
        log.warn(`redis subscribe ${topic}: ${(err as Error).message}`);
      }
    },
    unsubscribe: async (topic) => {
      const name = names.channel(topic);
      wanted.delete(name);
      await sub.unsubscribe(name).catch(() => {});
    },
    onResync(fn) {
      resync = fn;
    },
    healthy: () => pub.status === "ready" && sub.status === "ready",
    close: async () => {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
