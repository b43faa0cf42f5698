// Hands each event on a topic to this instance's listeners: sockets (through Bun's native
// topics) and callbacks (SSE streams, sockets still replaying history). Each event is
// rendered at most once per format here, and every listener gets the same bytes.
//
// Thread events carry a seq, and listeners must see them in seq order, once. Events from
// other instances can arrive out of order (two commits published in a race) or not at all
// (a publisher that died after its commit, a Redis hiccup), so each thread topic has a
// sequencer: it holds an early event until the ones before it arrive, and if they do not
// arrive within GAP_WAIT_MS it reads them from the database, where they are committed.
import type { Bus } from "./bus.ts";
import { socketTopic, topics, type Topic } from "./topics.ts";
import { seqOf, type BusEvent, type Message } from "./events.ts";
import type { Rendering } from "./render.ts";
import type { Logger } from "../log.ts";

/** A message that skipped the queue has its predecessors committed; they are usually on the wire. */
const GAP_WAIT_MS = 100;
/**
 * Past this many early events, stop waiting and read the gap from the database. No more are
 * held: while the database cannot be read, later ones are only counted (in `highest`) and
 * read with the rest once it can.
 */
const MAX_HELD = 1000;
const FILL_PAGE = 500;

export interface Delivery {
  readonly topic: Topic;
  readonly event: BusEvent;
  readonly seq: number | null;
  /** The event as one transport and audience see it; rendered once, then shared. */
  frame(rendering: Rendering): string;
}

export type Listener = (delivery: Delivery) => void;
export type Render = (event: BusEvent, rendering: Rendering) => string;

/** Bun's server, as far as fan-out needs it. */
export interface SocketHub {
  publish(topic: string, data: string): number;
  subscriberCount(topic: string): number;
}

export interface FanoutDeps {
  bus: Bus;
  hub: () => SocketHub | undefined;
  render: Render;
  /** The last committed seq of a thread. */
  lastSeq(threadId: number): Promise<number>;
  /** Committed messages of a thread after a seq, in order. */
  messagesAfter(threadId: number, afterSeq: number, limit: number): Promise<Message[]>;
  /** Runs after each event went out, in order: what must happen exactly at that point of a log. */
  afterDispatch?(topic: Topic, event: BusEvent): void;
  log: Logger;
}

interface TopicState {
  refs: number;
  ready: Promise<void>;
  listeners: Set<Listener>;
  /** Next seq to deliver; 0 until the thread's position is read at subscription. */
  next: number;
  /** Events that arrived before the position was known. */
  early: BusEvent[];
  held: Map<number, BusEvent>;
  /** The highest seq heard of (held or not): everything up to it is committed. */
  highest: number;
  gapTimer: ReturnType<typeof setTimeout> | null;
  filling: boolean;
  /** Up to where the database must still be read (0: nowhere); MAX_SAFE_INTEGER: all that is committed. */
  owed: number;
  /** A read was asked for while one ran, whose query may predate what it must see: read again. */
  again: boolean;
  /** A read failed: the next waits for the retry timer, not for the next event. */
  backoff: boolean;
}

/** Renderings by event: one event published to many topics (a group's feeds) renders once. */
const rendered = new WeakMap<BusEvent, Partial<Record<Rendering, string>>>();

class LazyDelivery implements Delivery {
  constructor(
    readonly topic: Topic,
    readonly event: BusEvent,
    private readonly render: Render,
  ) {}
  get seq() {
    return seqOf(this.event);
  }
  frame(rendering: Rendering) {
    let cache = rendered.get(this.event);
    if (!cache) rendered.set(this.event, (cache = {}));
    return (cache[rendering] ??= this.render(this.event, rendering));
  }
}

const threadIdOf = topics.threadIdOf;

export class Fanout {
  private readonly topics = new Map<Topic, TopicState>();

  constructor(private readonly deps: FanoutDeps) {}

  /**
   * Declares a local interest in a topic. Resolves when every event published on it from now
   * on will be delivered here, and (for threads) the last delivered seq is known.
   */
  acquire(topic: Topic): Promise<void> {
    let state = this.topics.get(topic);
    if (state) {
      state.refs++;
      return state.ready;
    }
    const fresh: TopicState = {
      refs: 1,
      ready: Promise.resolve(),
      listeners: new Set(),
      next: 0,
      early: [],
      held: new Map(),
      highest: 0,
      gapTimer: null,
      filling: false,
      owed: 0,
      again: false,
      backoff: false,
    };
    this.topics.set(topic, fresh);
    fresh.ready = this.start(topic, fresh).catch((err) => {
      // Everyone who waited on this start gets the error; the next acquire starts afresh.
      if (this.topics.get(topic) === fresh) {
        if (fresh.gapTimer) clearTimeout(fresh.gapTimer);
        this.topics.delete(topic);
        void this.deps.bus.unsubscribe(topic);
      }
      throw err;
    });
    return fresh.ready;
  }

  release(topic: Topic): void {
    const state = this.topics.get(topic);
    if (!state) return;
    if (--state.refs > 0) return;
    if (state.gapTimer) clearTimeout(state.gapTimer);
    this.topics.delete(topic);
    void this.deps.bus.unsubscribe(topic);
  }

  /** Adds a callback listener to an acquired topic; returns the function that removes it. */
  listen(topic: Topic, listener: Listener): () => void {
    const state = this.topics.get(topic);
    if (!state) throw new Error(`listen on ${topic} before acquire`);
    state.listeners.add(listener);
    return () => state.listeners.delete(listener);
  }

  /** The last seq handed to this instance's listeners of a thread (after acquire). */
  lastDelivered(topic: Topic): number {
    const state = this.topics.get(topic);
    return state && state.next > 0 ? state.next - 1 : 0;
  }

  /** The bus hands every event here, from this instance and from the others. */
  receive(topic: Topic, event: BusEvent): void {
    const state = this.topics.get(topic);
    if (!state) return;
    const seq = seqOf(event);
    if (seq === null) return this.dispatch(topic, state, event);
    if (state.next === 0) {
      state.early.push(event);
      return;
    }
    this.order(topic, state, seq, event);
  }

  /** After the bus lost events (a Redis outage): read what every thread topic missed. */
  resync(): void {
    for (const [topic, state] of this.topics) {
      // A topic still reading its position reads the rest once it has it (start).
      if (state.next > 0) void this.fill(topic, state, Number.MAX_SAFE_INTEGER);
      else if (threadIdOf(topic) !== null) state.owed = Number.MAX_SAFE_INTEGER;
    }
  }

  topicCount(): number {
    return this.topics.size;
  }

  private async start(topic: Topic, state: TopicState): Promise<void> {
    await this.deps.bus.subscribe(topic);
    const threadId = threadIdOf(topic);
    if (threadId === null) return;
    // Read the position only once subscribed: anything committed later reaches us on the bus.
    state.next = (await this.deps.lastSeq(threadId)) + 1;
    const early = state.early.splice(0);
    for (const event of early) this.order(topic, state, seqOf(event)!, event);
    if (state.owed > 0) void this.fill(topic, state, state.owed);
  }

  private order(topic: Topic, state: TopicState, seq: number, event: BusEvent): void {
    if (seq < state.next) return; // seen already, or older than this subscription
    if (seq > state.next) {
      if (seq > state.highest) state.highest = seq;
      if (state.held.size < MAX_HELD) {
        state.held.set(seq, event);
        this.armGapTimer(topic, state);
      } else if (!state.backoff) void this.fill(topic, state, state.highest);
      return;
    }
    this.dispatch(topic, state, event);
    state.next++;
    for (let held = state.held.get(state.next); held; held = state.held.get(state.next)) {
      state.held.delete(state.next);
      this.dispatch(topic, state, held);
      state.next++;
    }
  }

  /** Reads committed messages from the database up to `upTo` and delivers them in order. */
  private async fill(topic: Topic, state: TopicState, upTo: number): Promise<void> {
    const threadId = threadIdOf(topic);
    if (threadId === null) return;
    if (upTo > state.owed) state.owed = upTo;
    if (state.filling) {
      state.again = true;
      return;
    }
    state.filling = true;
    try {
      do {
        state.again = false;
        const target = state.owed;
        while (this.topics.get(topic) === state && state.next <= target) {
          const rows = await this.deps.messagesAfter(threadId, state.next - 1, FILL_PAGE);
          for (const message of rows) this.order(topic, state, message.seq, { type: "message", message });
          if (rows.length < FILL_PAGE) break;
        }
        if (!state.again) state.owed = 0;
      } while (state.again && this.topics.get(topic) === state);
    } catch (err) {
      // What is owed stays owed: the retry reads it.
      this.deps.log.warn(`fanout: reading the gap in ${topic} failed: ${(err as Error).message}`);
      if (state.gapTimer) clearTimeout(state.gapTimer);
      state.gapTimer = null;
      state.backoff = true;
      this.armGapTimer(topic, state, GAP_WAIT_MS * 10);
    } finally {
      state.filling = false;
      // A gap timer that fired during the fill found it busy; look again now.
      if (this.gapLeft(state) && !state.gapTimer && this.topics.get(topic) === state) this.armGapTimer(topic, state);
    }
  }

  /** Whether something heard of or asked for is still to be read. */
  private gapLeft(state: TopicState): boolean {
    return state.owed > 0 || state.highest >= state.next;
  }

  private armGapTimer(topic: Topic, state: TopicState, delay = GAP_WAIT_MS): void {
    state.gapTimer ??= setTimeout(() => {
      state.gapTimer = null;
      state.backoff = false;
      if (this.gapLeft(state)) void this.fill(topic, state, state.highest);
    }, delay);
  }

  private dispatch(topic: Topic, state: TopicState, event: BusEvent): void {
    const delivery = new LazyDelivery(topic, event, this.deps.render);
    const hub = this.deps.hub();
    if (hub) {
      for (const format of ["json", "html"] as const) {
        const name = socketTopic(topic, format);
        if (hub.subscriberCount(name) > 0) hub.publish(name, delivery.frame(`ws-${format}`));
      }
    }
    for (const listener of state.listeners) listener(delivery);
    this.deps.afterDispatch?.(topic, event);
  }
}
