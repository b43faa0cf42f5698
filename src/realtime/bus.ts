// The bus carries events between instances. Both implementations deliver an event to this
// instance at once; the Redis one also publishes it for the others and hands theirs in.
// Delivery through the bus is at most once: what it drops, clients recover by cursor.
import Redis from "ioredis";
import type { RedisNames, Topic } from "./topics.ts";
import type { BusEvent } from "./events.ts";
import type { Logger } from "../log.ts";
import { Company } from "./company.ts";

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
 * What goes through Redis: one message per tick on one channel that every instance reads.
 * It starts with the publishing instance's id and a newline, so an instance drops its own
 * (it delivered them locally already) without reading further. Then a line per event: the
 * topics it goes to, comma-separated, a tab, the event as JSON (which holds no raw newline).
 * An instance parses only the events of topics it has listeners for.
 *
 * Why one channel and not one per topic: a channel per topic cost a PUBLISH per event and
 * topic, and each instance heard its own publishes back one by one. One message per tick
 * costs one PUBLISH for a whole group commit: in the relay benchmark Redis went from 10 to
 * 6.5 % of a core and deliveries got faster (bench/RESULTS.md, section 8). The price is that
 * every instance reads every event's topic list, a string scan, which is cheap next to a
 * PUBLISH for the few instances Parley runs behind one proxy; past that, shard the channel.
 *
 * After the instance's id, a line with the message's serial number (its echo is how the
 * instance knows it heard itself; see company.ts); a heartbeat is that line alone. Two
 * control messages have a single line and no tab, so an event parser skips them: "hello",
 * said by an instance as soon as it has subscribed, and "here <id>", the answer to the hello
 * of instance <id> from every instance that heard it, sent once it is publishing. An
 * instance alone on the channel publishes only its heartbeat until someone says hello (or a
 * heartbeat reaches a listener that never does, like redis-cli); a newcomer counts itself as
 * listening once every instance there answered, so nothing published after that is missed.
 * If some did not answer within HANDSHAKE_MS (or the hello could not be said), it listens
 * anyway and reads what it may have missed from the database once every instance has had
 * its heartbeat to notice it (RESYNC_AFTER_MS).
 */
const SEPARATOR = "\n";
const TAB = "\t";
const HELLO = "hello";
const HERE = "here ";
const HANDSHAKE_MS = 1000;
/** While alone, how often an instance proves it again. */
const HEARTBEAT_MS = 1000;
const RESYNC_AFTER_MS = 2 * HEARTBEAT_MS + HANDSHAKE_MS;
const SERIAL = /^\d+$/;

/** The promise's outcome, or undefined after ms; the timer does not outlive it. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export function redisBus(url: string, names: RedisNames, instanceId: string, handler: BusHandler, log: Logger): Bus {
  // Commands fail at once while Redis is away instead of queueing behind a dead link:
  // the event is stored already, and the resync below makes up for what was missed.
  const options = { maxRetriesPerRequest: 1, enableOfflineQueue: false, autoResubscribe: false } as const;
  // A subscribing connection can do nothing else, so publishing has its own.
  const pub = new Redis(url, { ...options, connectionName: `parley-pub-${instanceId}` });
  const prefix = `${instanceId.replace(/\s/g, "_")}${SEPARATOR}`;
  const sub = new Redis(url, { ...options, connectionName: `parley-sub-${instanceId}` });
  /** Topics with listeners here. */
  const wanted = new Set<string>();
  let joined!: () => void;
  /**
   * The channel's subscription (and hello) being made, then made. Before the first, it is
   * resolved by the first: the connection says "ready" a moment before its handler runs.
   */
  let listening: Promise<unknown> = new Promise<void>((resolve) => (joined = resolve));
  let resync: () => void = () => {};
  let connectedBefore = false;

  const company = new Company();
  /** The hellos of this instance waiting for answers: each is passed the answering instance. */
  const awaitingAnswers = new Set<(from: string) => void>();
  /** Set when a hello could not be said (the publisher was down): it is said once it is back. */
  let unsaid = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (fn: () => void, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  for (const [name, conn] of [["publisher", pub], ["subscriber", sub]] as const) {
    conn.on("error", (err: Error) => log.warn(`redis ${name}: ${err.message}`));
  }
  const say = (line: string) => pub.publish(names.bus, `${prefix}${line}`);

  /** Says hello; resolves true once every instance there answered, false if some did not in time. */
  const hello = async (): Promise<boolean> => {
    const heard = new Set<string>();
    let expected = Infinity;
    let allHeard!: () => void;
    const all = new Promise<void>((resolve) => (allHeard = resolve));
    const answer = (from: string) => {
      heard.add(from);
      if (heard.size >= expected) allHeard();
    };
    awaitingAnswers.add(answer);
    try {
      // Redis's count includes this instance.
      expected = Number(await say(HELLO)) - 1;
      if (heard.size >= expected) return true;
      return (await within(HANDSHAKE_MS, all.then(() => true))) === true;
    } finally {
      awaitingAnswers.delete(answer);
    }
  };
  /** Subscribes and says hello; if not everyone answered, reads what may have been missed once they have noticed. */
  const join = async () => {
    await sub.subscribe(names.bus);
    if (pub.status !== "ready") {
      let onReady!: () => void;
      await within(HANDSHAKE_MS, new Promise<void>((resolve) => pub.once("ready", (onReady = resolve)))).finally(() => pub.off("ready", onReady));
    }
    const everyone = await hello().catch((err: Error) => {
      log.warn(`redis publish (hello): ${err.message}`);
      unsaid = true;
      return false;
    });
    if (!everyone) later(() => resync(), RESYNC_AFTER_MS);
  };
  pub.on("ready", () => {
    if (!unsaid || sub.status !== "ready") return;
    unsaid = false;
    void hello()
      .catch(() => false)
      .then(() => later(() => resync(), RESYNC_AFTER_MS));
  });
  sub.on("close", () => company.lost());
  const heartbeat = setInterval(() => {
    const sent = company.heartbeat();
    if (sent) pub.publish(names.bus, `${prefix}${sent.serial}`).then((listeners) => company.answered(sent, listeners), () => {});
  }, HEARTBEAT_MS);
  heartbeat.unref();

  sub.on("ready", async () => {
    listening = join().catch((err: Error) => log.warn(`redis subscribe: ${err.message}`));
    await listening;
    joined();
    // Whatever was published while the link was down never reached this instance.
    if (connectedBefore) {
      log.info(`redis subscriber back: resyncing ${wanted.size} topics from the database`);
      resync();
    }
    connectedBefore = true;
  });
  // One listener's failure must not cost the other events of the same message.
  const deliverEach = (targets: string[], event: BusEvent) => {
    for (const topic of targets) {
      try {
        handler(topic as Topic, event);
      } catch (err) {
        log.error(`bus: delivering on ${topic} failed: ${(err as Error)?.stack ?? err}`);
      }
    }
  };
  // As bytes first: this instance's own messages come back too, and are dropped on their
  // prefix before anything turns them into a string.
  const ownPrefix = Buffer.from(prefix);
  sub.on("messageBuffer", (_channel: Buffer, bytes: Buffer) => {
    if (bytes.length >= ownPrefix.length && ownPrefix.equals(bytes.subarray(0, ownPrefix.length))) {
      const end = bytes.indexOf(SEPARATOR, ownPrefix.length);
      const serial = bytes.subarray(ownPrefix.length, end < 0 ? bytes.length : end).toString();
      if (SERIAL.test(serial)) company.echo(Number(serial));
      return;
    }
    const payload = bytes.toString();
    let line = payload.indexOf(SEPARATOR) + 1;
    if (line === 0) return;
    // Someone else publishes here, so someone else listens (every instance does both).
    company.met();
    const from = payload.slice(0, line - 1);
    if (payload.startsWith(HELLO, line) && payload.length === line + HELLO.length) {
      // Publishing again before answering: whatever follows the answer reaches the newcomer.
      company.met(true);
      say(`${HERE}${from}`).catch((err: Error) => log.warn(`redis publish (here): ${err.message}`));
      return;
    }
    if (payload.startsWith(HERE, line)) {
      if (payload.slice(line + HERE.length) === prefix.slice(0, -1)) for (const answer of awaitingAnswers) answer(from);
      return;
    }
    while (line < payload.length) {
      const next = payload.indexOf(SEPARATOR, line);
      const end = next < 0 ? payload.length : next;
      const tab = payload.indexOf(TAB, line);
      if (tab > line && tab < end) {
        const targets = payload.slice(line, tab).split(",").filter((topic) => wanted.has(topic));
        if (targets.length > 0) {
          let event: BusEvent | null = null;
          try {
            event = JSON.parse(payload.slice(tab + 1, end));
          } catch {
            // not an event of ours: skip the line
          }
          if (event) deliverEach(targets, event);
        }
      }
      line = end + 1;
    }
  });

  // Publishes wait for the end of the tick (a batch's messages and their feeds), then go to
  // Redis as one message; an event published to many topics (a group's feeds) travels once.
  let outbox: { topics: Topic[]; event: BusEvent }[] = [];
  const send = () => {
    const batch = outbox;
    outbox = [];
    if (company.alone) return;
    const sent = company.next();
    let payload = `${prefix}${sent.serial}${SEPARATOR}`;
    for (const { topics, event } of batch) payload += `${topics.join(",")}${TAB}${JSON.stringify(event)}${SEPARATOR}`;
    pub.publish(names.bus, payload).then(
      (listeners) => company.answered(sent, listeners),
      (err: Error) => log.warn(`redis publish (${batch.length} events): ${err.message}`),
    );
  };

  return {
    kind: "redis",
    publish(topic, event) {
      handler(topic, event);
      if (company.alone) return;
      if (outbox.length === 0) queueMicrotask(send);
      const last = outbox[outbox.length - 1];
      if (last?.event === event) last.topics.push(topic);
      else outbox.push({ topics: [topic], event });
    },
    subscribe: async (topic) => {
      wanted.add(topic);
      // Not connected (yet, or for now): once it is, the resync reads what was missed.
      if (sub.status === "ready") await listening;
    },
    unsubscribe: async (topic) => {
      wanted.delete(topic);
    },
    onResync(fn) {
      resync = fn;
    },
    healthy: () => pub.status === "ready" && sub.status === "ready",
    close: async () => {
      clearInterval(heartbeat);
      for (const timer of timers) clearTimeout(timer);
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
