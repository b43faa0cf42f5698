// The bus carries events between instances. Both implementations deliver an event to this
// instance at once; the Redis one also publishes it for the others and hands theirs in.
// Delivery through the bus is at most once per receiver: what could not be published is
// published again once the publisher is back (receivers drop a repeat), and what is still
// lost (an instance gone, too much waiting), clients recover by cursor.
import Redis from "ioredis";
import type { RedisNames, Topic } from "./topics.ts";
import type { BusEvent } from "./events.ts";
import type { Logger } from "../log.ts";
import { Company, type Sent } from "./company.ts";

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
 *
 * A message that could not be published (the publishing connection was down: ioredis
 * reconnects each connection on its own schedule, so the publisher can come back seconds
 * after the others' subscribers did and re-read their threads) is kept, in order, up to
 * MAX_UNSENT_EVENTS events (the oldest go first), and published again, under its first serial,
 * once the publisher is back. A publish can reach Redis and still fail here (the link died
 * before the reply), and ioredis resends some unanswered commands itself, so a message may
 * arrive twice: a receiver remembers the last SEEN_WINDOW serials of each instance and drops
 * a repeat, whatever its events (feed and control ones have no seq to catch it later).
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
/** Events of failed publishes kept to publish again; past this, the oldest are dropped. */
const MAX_UNSENT_EVENTS = 20_000;
/** A publish failed on a connection that still says it is ready: try again this much later. */
const RETRY_MS = 250;
/** Serials remembered per other instance to drop a repeat (a bit each); more than can be kept unsent. */
const SEEN_WINDOW = 65_536;
/** An instance not heard from for this long is forgotten (its serials with it). */
const FORGET_AFTER_MS = 10 * 60_000;

/** The serials of one other instance's messages heard lately. */
class Seen {
  private top = 0;
  private readonly bits = new Uint8Array(SEEN_WINDOW / 8);
  heardAt = Date.now();

  /** Records a serial; says whether it was heard before. */
  repeat(serial: number): boolean {
    this.heardAt = Date.now();
    if (serial > this.top) {
      // The window moves on: the slots it moves over belong to the new serials.
      for (let s = Math.max(this.top + 1, serial - SEEN_WINDOW + 1); s < serial; s++) this.bits[(s % SEEN_WINDOW) >> 3]! &= ~(1 << (s & 7));
      this.top = serial;
      this.bits[(serial % SEEN_WINDOW) >> 3]! |= 1 << (serial & 7);
      return false;
    }
    // Too old to tell (an instance that restarted under the same id): deliver it.
    if (serial <= this.top - SEEN_WINDOW) return false;
    const at = (serial % SEEN_WINDOW) >> 3;
    const bit = 1 << (serial & 7);
    if (this.bits[at]! & bit) return true;
    this.bits[at]! |= bit;
    return false;
  }
}

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
  /** Set when a topic was subscribed while the subscriber was not connected: what it missed is read once it is. */
  let subscribedUnheard = false;

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
  /** By other instance: the serials of its messages heard lately, to drop a repeat. */
  const seen = new Map<string, Seen>();
  const heartbeat = setInterval(() => {
    const sent = company.heartbeat();
    if (sent) pub.publish(names.bus, `${prefix}${sent.serial}`).then((listeners) => company.answered(sent, listeners), () => {});
    const forget = Date.now() - FORGET_AFTER_MS;
    for (const [from, serials] of seen) if (serials.heardAt < forget) seen.delete(from);
  }, HEARTBEAT_MS);
  heartbeat.unref();

  sub.on("ready", async () => {
    listening = join().catch((err: Error) => log.warn(`redis subscribe: ${err.message}`));
    await listening;
    joined();
    // Whatever was published while the link was down never reached this instance; nor did
    // what was published on topics subscribed before the first connection.
    if (connectedBefore || subscribedUnheard) {
      log.info(`redis subscriber ${connectedBefore ? "back" : "connected"}: resyncing ${wanted.size} topics from the database`);
      subscribedUnheard = false;
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
  /** The highest of this instance's serials heard back: a message published again is older. */
  let lastEcho = 0;
  sub.on("messageBuffer", (_channel: Buffer, bytes: Buffer) => {
    if (bytes.length >= ownPrefix.length && ownPrefix.equals(bytes.subarray(0, ownPrefix.length))) {
      const end = bytes.indexOf(SEPARATOR, ownPrefix.length);
      const serial = bytes.subarray(ownPrefix.length, end < 0 ? bytes.length : end).toString();
      if (SERIAL.test(serial) && Number(serial) > lastEcho) company.echo((lastEcho = Number(serial)));
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
    // A message heard before (published again after a failure that was not one): dropped whole.
    // (A heartbeat, a serial alone, has no event to deliver: the loop below skips it.)
    const serialEnd = payload.indexOf(SEPARATOR, line);
    const serial = serialEnd < 0 ? "" : payload.slice(line, serialEnd);
    if (SERIAL.test(serial)) {
      let serials = seen.get(from);
      if (!serials) seen.set(from, (serials = new Seen()));
      if (serials.repeat(Number(serial))) return;
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
  type Batch = { topics: Topic[]; event: BusEvent }[];
  interface Unsent {
    sent: Sent;
    batch: Batch;
  }
  let outbox: Batch = [];
  /** Messages that could not be published, in serial order, to publish again once the publisher is back. */
  let unsent: Unsent[] = [];
  let unsentEvents = 0;
  let retryArmed = false;
  const encode = ({ sent, batch }: Unsent) => {
    let payload = `${prefix}${sent.serial}${SEPARATOR}`;
    for (const { topics, event } of batch) payload += `${topics.join(",")}${TAB}${JSON.stringify(event)}${SEPARATOR}`;
    return payload;
  };
  const keep = (message: Unsent) => {
    // Typing is news only now: said late, it would be wrong.
    message.batch = message.batch.filter(({ event }) => event.type !== "typing");
    if (message.batch.length === 0) return;
    // Publishes that failed together may report it out of order: keep the serials' order.
    let at = unsent.length;
    while (at > 0 && unsent[at - 1]!.sent.serial > message.sent.serial) at--;
    unsent.splice(at, 0, message);
    unsentEvents += message.batch.length;
    let dropped = 0;
    while (unsentEvents > MAX_UNSENT_EVENTS && unsent.length > 1) {
      const oldest = unsent.shift()!;
      unsentEvents -= oldest.batch.length;
      dropped += oldest.batch.length;
    }
    // Thread messages dropped here are read from the database once a later one arrives.
    if (dropped > 0) log.warn(`redis publish: ${dropped} unsent events dropped (over ${MAX_UNSENT_EVENTS} waiting)`);
  };
  const transmit = (message: Unsent, first: boolean) => {
    pub.publish(names.bus, encode(message)).then(
      // Published again, it is no proof of being alone (its echo is older than others heard since).
      (listeners) => (first || listeners !== 1) && company.answered(message.sent, listeners),
      (err: Error) => {
        log.warn(`redis publish (${message.batch.length} events): ${err.message}; kept to publish again`);
        keep(message);
        retrySoon();
      },
    );
  };
  /** Down, the publisher says "ready" when it is back; still up, it failed on its own: try again a little later. */
  const retrySoon = () => {
    if (pub.status !== "ready" || retryArmed) return;
    retryArmed = true;
    later(() => {
      retryArmed = false;
      flush();
    }, RETRY_MS);
  };
  /** Publishes what was kept, in order; what is published after it goes on the same connection, behind it. */
  const flush = () => {
    if (pub.status !== "ready" || unsent.length === 0) return;
    const messages = unsent;
    unsent = [];
    log.info(`redis publisher ready: publishing ${unsentEvents} kept events again`);
    unsentEvents = 0;
    for (const message of messages) transmit(message, false);
  };
  pub.on("ready", flush);
  const send = () => {
    const batch = outbox;
    outbox = [];
    if (company.alone) return;
    const message = { sent: company.next(), batch };
    // Behind those waiting, so that each instance's events keep their order.
    if (unsent.length > 0 || pub.status !== "ready") {
      keep(message);
      retrySoon();
    } else transmit(message, true);
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
      else subscribedUnheard = true;
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
      // QUIT is a command, refused while a connection is not ready (no offline queue): one
      // still connecting would connect after all and keep the process alive. That one is cut.
      await Promise.allSettled([pub, sub].map((conn) => (conn.status === "ready" ? conn.quit() : conn.disconnect())));
    },
  };
}
