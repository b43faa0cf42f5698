// Resuming by cursor, the same on every transport: join the topic first, buffering what
// arrives; replay from the database everything after the cursor; then hand the buffered
// events past the replay's end to the live path. Nothing falls in between, and nothing is
// sent twice.
import type { Core } from "../core.ts";
import { apiThread, messagesOf } from "../chat/threads.ts";
import { threads as tq } from "../db/queries.ts";
import { notFound } from "../errors.ts";
import { changedSince, feedCursor } from "../chat/feed.ts";
import type { Delivery, Listener } from "./fanout.ts";
import type { FeedChange, Message, UserRef } from "./events.ts";
import { topics, type Topic } from "./topics.ts";

/** A resume that would replay more than this stops there with a `reset`: reload the rest. */
export const REPLAY_LIMIT = 500;
/**
 * …or more than this many bytes: a replay must fit in the socket's buffer (1 MiB, after which
 * Bun drops the connection), or a client far behind on big messages could never catch up.
 */
export const REPLAY_BYTES = 512 * 1024;

export interface CatchUp {
  /** The last seq the client has now been given (threads). */
  lastSeq: number;
  /** True when the replay hit REPLAY_LIMIT; the topic is already released. */
  reset: boolean;
  /**
   * Delivers what arrived during the replay (past lastSeq) to `deliver`; then, with `keep`,
   * goes on calling it for each live event, or else stops listening (the caller has its own
   * live path, like a Bun topic, and must join it in the same tick).
   */
  live(deliver: Listener, keep: boolean): void;
  /**
   * For transports with a live path of their own (a Bun topic): delivers what arrived during
   * the replay, then calls `join` once joining cannot repeat anything. Usually at once; but
   * if this instance's sequencer has not yet passed what the replay read from the database
   * (it holds events that came out of order), the callback carries on until it has.
   */
  handOff(deliver: Listener, join: () => void): void;
  /**
   * A handOff still waiting to join: give up joining, and go on delivering every live event
   * to `deliver` instead, as live(deliver, true) does. False if there is no such wait (joined
   * already, or never handed off).
   */
  stayLive(): boolean;
  /** Stops listening and lets go of the topic. */
  release(): void;
}

/**
 * A class, not closures: every open subscription keeps one of these for as long as it lives,
 * and an instance holds only its fields, not the scopes (and replay callbacks) of how it began.
 */
class Follow implements CatchUp {
  lastSeq = 0;
  reset = false;
  /** The last seq handed on; moves past lastSeq as live events are delivered. */
  private seen = 0;
  /** What arrived before live() was called; null from then on (nothing more is buffered). */
  private buffered: Delivery[] | null = [];
  private deliver: Listener | null = null;
  /** handOff's join, waiting for the sequencer to pass what the replay read. */
  private join: (() => void) | null = null;
  private stopListening: (() => void) | null;
  private released = false;

  constructor(
    private readonly core: Core,
    private readonly topic: Topic,
  ) {
    this.stopListening = core.fanout.listen(topic, (d) => this.onEvent(d));
  }

  /** The replay is done: it ended at `lastSeq`, or stopped short (`reset`). */
  replayed(lastSeq: number, reset: boolean): void {
    this.lastSeq = this.seen = lastSeq;
    this.reset = reset;
    if (reset) this.release();
  }

  private onEvent(d: Delivery): void {
    if (!this.deliver) {
      this.buffered?.push(d);
      return;
    }
    this.pass(d);
    // Published to the topic before this callback ran: joining now cannot repeat it.
    if (this.join && d.seq !== null && d.seq >= this.seen) {
      const join = this.join;
      this.join = null;
      this.stop();
      join();
    }
  }

  private pass(d: Delivery): void {
    // A delivery can end its own subscription (a client too slow or gone): then the events
    // buffered behind it go nowhere.
    if (!this.deliver) return;
    if (d.seq !== null && d.seq <= this.seen) return;
    if (d.seq !== null) this.seen = d.seq;
    this.deliver(d);
  }

  /** No more events: let go of the listener and of what delivers them (a subscription that
   * joined a Bun topic keeps this object for as long as it lives, and needs none of it). */
  private stop(): void {
    this.stopListening?.();
    this.stopListening = null;
    this.deliver = null;
    this.buffered = null;
  }

  live(deliver: Listener, keep: boolean): void {
    this.deliver = deliver;
    const buffered = this.buffered ?? [];
    this.buffered = null;
    for (const d of buffered) this.pass(d);
    if (!keep) this.stop();
  }

  handOff(deliver: Listener, join: () => void): void {
    this.live(deliver, true);
    if (this.core.fanout.lastDelivered(this.topic) >= this.seen) {
      this.stop();
      join();
      return;
    }
    this.join = join;
  }

  stayLive(): boolean {
    if (!this.join || this.released) return false;
    this.join = null;
    return true;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.stop();
    this.core.fanout.release(this.topic);
  }
}

async function follow(core: Core, topic: Topic, replay: () => Promise<{ lastSeq: number; reset: boolean }>, check: () => Promise<void> = async () => {}): Promise<CatchUp> {
  await core.fanout.acquire(topic);
  const following = new Follow(core, topic);
  try {
    // Checked again now that this instance hears the topic: a removal committed before this
    // point fails here; one committed after it reaches the fan-out, which cuts the client off.
    await check();
    const { lastSeq, reset } = await replay();
    following.replayed(lastSeq, reset);
  } catch (err) {
    following.release();
    throw err;
  }
  return following;
}

/** Whether a message is the line that took `userId` out of its thread. */
export function removes(message: Message, userId: number): boolean {
  const e = message.event;
  return message.kind === "system" && ((e?.type === "member_removed" && e.member.id === userId) || (e?.type === "member_left" && message.sender.id === userId));
}

/**
 * A thread after seq `after`, for a member; null: live from now. `replay` sends one message
 * and says how many bytes that took. The replay stops at the line that removed the viewer,
 * if they were removed while it ran (the fan-out then cuts them off).
 */
export function catchUpThread(core: Core, viewerId: number, threadId: number, after: number | null, replay: (message: Message) => number): Promise<CatchUp> {
  const topic = topics.thread(threadId);
  const check = async () => {
    if ((await tq.isMember(core.db, threadId, viewerId)).length === 0) throw notFound();
  };
  return follow(
    core,
    topic,
    async () => {
      if (after === null) return { lastSeq: core.fanout.lastDelivered(topic), reset: false };
      let lastSeq = after;
      let bytes = 0;
      const missed = await messagesOf(core.db, threadId, { after, limit: REPLAY_LIMIT + 1 });
      for (const message of missed.slice(0, REPLAY_LIMIT)) {
        if (bytes >= REPLAY_BYTES) return { lastSeq, reset: true };
        bytes += replay(message);
        lastSeq = message.seq;
        if (removes(message, viewerId)) break;
      }
      return { lastSeq, reset: missed.length > REPLAY_LIMIT };
    },
    check,
  );
}

/**
 * A person's feed after a cursor (a time; see chat/feed.ts): the state of each of their
 * threads that changed since, then live. null: live from now.
 */
export function catchUpFeed(core: Core, user: UserRef, since: number | null, replay: (cursor: string, change: FeedChange) => void): Promise<CatchUp> {
  return follow(core, topics.user(user.id), async () => {
    if (since !== null) {
      const cursor = feedCursor();
      const { threads, removed } = await changedSince(core, user, since);
      for (const thread of threads) replay(cursor, { kind: "thread", thread: apiThread(thread) });
      for (const thread of removed) replay(cursor, { kind: "removed", thread });
    }
    return { lastSeq: 0, reset: false };
  });
}

/**
 * Whether an event comes from someone the viewer blocked (and so is not shown to them). A
 * hidden message still takes its seq: the viewer is sent a `skip` in its place, so their
 * cursor moves on and they can tell a hidden message from a lost one.
 */
export function fromBlocked(event: Delivery["event"], blocked: ReadonlySet<number>): boolean {
  if (blocked.size === 0) return false;
  if (event.type === "message") return event.message.kind === "text" && blocked.has(event.message.sender.id);
  if (event.type === "typing") return blocked.has(event.user.id);
  if (event.type === "feed" && event.change.kind === "message") return event.change.message.kind === "text" && blocked.has(event.change.message.sender.id);
  return false;
}

/** What a viewer gets instead of a message from someone they blocked. */
export function skipFrame(threadId: number, seq: number, sse: boolean): string {
  const frame = JSON.stringify({ type: "skip", threadId, seq });
  return sse ? `id: ${seq}\nevent: skip\ndata: ${frame}\n\n` : frame;
}
