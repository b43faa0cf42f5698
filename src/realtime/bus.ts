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

/**
 * What goes through Redis: the publishing instance's id, a newline, the event as JSON. The
 * publisher delivered locally already, and its own echo is recognised (and dropped) by that
 * prefix without parsing the event. An instance id holds no newline (see below), JSON none raw.
 */
const SEPARATOR = 0x0a;

/**
 * Every publish of one tick (a batch's messages and their feeds) goes in one script call, and
 * an event published to many channels (a group's feeds) travels once. ARGV is a run of groups:
 * n, payload, then the n channels it goes to.
 */
const PUBLISH_MANY = `
local i = 1
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local payload = ARGV[i + 1]
  for j = 1, n do redis.call('PUBLISH', ARGV[i + 1 + j], payload) end
  i = i + 2 + n
end`;

interface PublishMany {
  parleyPublishMany(...groups: string[]): Promise<unknown>;
}

export function redisBus(url: string, names: RedisNames, instanceId: string, handler: BusHandler, log: Logger): Bus {
  // Commands fail at once while Redis is away instead of queueing behind a dead link:
  // the event is stored already, and the resync below makes up for what was missed.
  const options = { maxRetriesPerRequest: 1, enableOfflineQueue: false, autoResubscribe: false } as const;
  // A subscribing connection can do nothing else, so publishing has its own.
  // The publishing connection pipelines a tick's publishes (a batch's messages and feeds).
  const pub = new Redis(url, { ...options, enableAutoPipelining: true, connectionName: `parley-pub-${instanceId}` });
  pub.defineCommand("parleyPublishMany", { numberOfKeys: 0, lua: PUBLISH_MANY });
  const origin = Buffer.from(instanceId.replace(/\s/g, "_"));
  const prefix = `${origin.toString()}\n`;
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
    const end = payload.indexOf(SEPARATOR);
    if (end < 0 || (end === origin.length && payload.compare(origin, 0, origin.length, 0, end) === 0)) return;
    let event: BusEvent;
    try {
      event = JSON.parse(payload.subarray(end + 1).toString());
    } catch {
      return;
    }
    handler(names.topicOfChannel(name.toString()), event);
  });

  // Publishes wait for the end of the tick, then go to Redis together.
  let outbox: string[] = [];
  let events = 0;
  let last: { event: BusEvent; countAt: number } | null = null;
  const send = () => {
    const batch = outbox;
    const sentEvents = events;
    outbox = [];
    events = 0;
    last = null;
    const sent = batch[0] === "1" && batch.length === 3 ? pub.publish(batch[2]!, batch[1]!) : (pub as unknown as PublishMany).parleyPublishMany(...batch);
    sent.catch((err: Error) => log.warn(`redis publish (${sentEvents} events): ${err.message}`));
  };

  return {
    kind: "redis",
    publish(topic, event) {
      handler(topic, event);
      if (outbox.length === 0) queueMicrotask(send);
      events++;
      if (last?.event === event) {
        outbox[last.countAt] = String(Number(outbox[last.countAt]) + 1);
        outbox.push(names.channel(topic));
        return;
      }
      last = { event, countAt: outbox.length };
      outbox.push("1", prefix + JSON.stringify(event), names.channel(topic));
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
