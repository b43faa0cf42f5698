// The WebSocket protocol at /api/v1/ws: JSON text frames, one connection per tab or client,
// any number of thread subscriptions on it, plus the person's own feed. Pages connect with
// ?view=html and receive each message rendered (the same bytes for every viewer); API
// clients receive the message JSON.
import type { Core } from "../core.ts";
import { AppError, type ErrorCode } from "../errors.ts";
import { postMessage } from "../chat/send.ts";
import { assertMember, markRead } from "../chat/threads.ts";
import { feedCursor, parseCursor } from "../chat/feed.ts";
import { typing } from "../chat/typing.ts";
import type { Session, SessionUser } from "../auth/session.ts";
import { socketTopic, topics, type Format, type Topic } from "./topics.ts";
import { render, feedFrame } from "./render.ts";
import { catchUpFeed, catchUpThread, fromBlocked, skipFrame, type CatchUp } from "./resume.ts";
import type { Delivery } from "./fanout.ts";
import { CLOSE, type LiveClient } from "./live.ts";
import { seqValue, threadIdField } from "../web/params.ts";

/** Threads one connection may follow at once. */
export const MAX_SUBSCRIPTIONS = 100;
/**
 * Frames (sends aside) one connection may have waiting to be handled, and their size. Each is
 * handled after the one before it, most after a database round trip, so a client that sends
 * faster than that would otherwise make the server hold every frame it sent. 256 leaves room
 * for a client resubscribing to all its 100 threads, its feed and as many pings in one burst
 * on reconnect; 1 MiB (what a socket may have queued the other way) keeps a flood of 64 KiB
 * frames to a few dozen. Past either, the socket is closed with 1008 (see handle()).
 */
export const MAX_WAITING_FRAMES = 256;
export const MAX_WAITING_BYTES = 1024 * 1024;


/** The part of a Bun ServerWebSocket this module uses. */
export interface Socket {
  send(data: string): number;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  close(code?: number, reason?: string): void;
}

interface Subscription {
  topic: Topic;
  /** Set once the replay is done; until then the subscription may still be cancelled. */
  follow: CatchUp | null;
  cancelled: boolean;
  /**
   * Live through Bun's topic (the same bytes as everyone), or, for someone who blocked a
   * person, through a callback that leaves that person's messages out.
   */
  filtered: (() => void) | null;
}

export class Connection implements LiveClient {
  readonly kind = "ws" as const;
  private readonly subscriptions = new Map<Topic, Subscription>();
  private closed = false;
  /**
   * Frames are handled one after another, so a subscribe and the unsubscribe after it cannot
   * cross; null when none is waiting. (An idle socket keeps only what it needs: no settled
   * promise, and of its session only the id and the expiry, not the secret.)
   */
  private queue: Promise<void> | null = null;
  /** Frames in the queue, and their size in characters: bounded by MAX_WAITING_*. */
  private waiting = 0;
  private waitingSize = 0;
  readonly user: SessionUser;
  readonly sessionId: string;
  private readonly expiresAt: number;

  constructor(
    private readonly core: Core,
    private readonly socket: Socket,
    session: Session,
    private readonly format: Format,
    /** The people this person blocked. */
    private blocked: ReadonlySet<number>,
  ) {
    this.user = session.user;
    this.sessionId = session.id;
    this.expiresAt = session.expiresAt;
    core.live.add(this);
  }

  setBlocked(ids: ReadonlySet<number>): void {
    this.blocked = ids;
    if (ids.size === 0) return;
    for (const sub of this.subscriptions.values()) {
      if (!sub.follow || sub.filtered) continue;
      if (sub.follow.stayLive()) {
        // Still being handed over to the shared topic (see goLive): it never joins it, and its
        // own listener, which filters, goes on delivering, as when goLive finds someone blocked.
        sub.filtered = () => {};
        continue;
      }
      // From the shared topic to a filtered callback, with nothing in between.
      this.socket.unsubscribe(socketTopic(sub.topic, this.format));
      this.listenFiltered(sub);
    }
  }

  private listenFiltered(sub: Subscription): void {
    sub.filtered = this.core.fanout.listen(sub.topic, (d) => this.deliver(d));
  }

  /** A live event, or a skip in place of a message from someone this person blocked. */
  private deliver(d: Delivery): void {
    if (!fromBlocked(d.event, this.blocked)) this.push(d.frame(`ws-${this.format}`));
    else if (d.event.type === "message") this.push(skipFrame(d.event.message.threadId, d.event.message.seq, false));
  }

  get userId(): number {
    return this.user.id;
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  leaveThread(threadId: number): void {
    const topic = topics.thread(threadId);
    if (!this.subscriptions.has(topic)) return;
    this.unsubscribe(topic);
    this.reply({ type: "unsubscribed", threadId, reason: "no longer a member" });
  }

  /** Sends a frame; a socket that cannot take it (past Bun's backpressure limit) is dropped. */
  private push(frame: string): void {
    if (this.closed) return;
    if (this.socket.send(frame) === 0) this.socket.close(CLOSE.slow, "too slow: reconnect and resume");
  }

  private reply(frame: Record<string, unknown>): void {
    this.push(JSON.stringify(frame));
  }

  private error(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): void {
    this.reply({ type: "error", code, message, ...extra });
  }

  /**
   * A frame as Elysia hands it over: JSON text arrives parsed; anything else is not ours.
   * Sends go to the writer at once, in the order they came (its queue keeps that order), so a
   * burst of sends is one group commit; every other frame waits for the one before it.
   */
  handle(frame: unknown, size = 0): void {
    if (this.closed) return;
    if (Date.now() >= this.expiresAt) {
      this.socket.close(CLOSE.unauthenticated, "session expired: log in again");
      return;
    }
    if (frame !== null && typeof frame === "object" && (frame as { type?: unknown }).type === "send") {
      void this.handleOne(frame);
      return;
    }
    if (this.waiting >= MAX_WAITING_FRAMES || this.waitingSize + size > MAX_WAITING_BYTES) {
      // Closed, not answered with an error: frames are handled in order and each is answered,
      // and a client that skipped one refused frame could not tell what state it is in; one
      // this far ahead is not reading its answers anyway. Nothing is lost: it reconnects,
      // slower, and resumes by cursor. What is still queued is dropped unhandled.
      this.closed = true;
      this.socket.close(CLOSE.policy, `too many frames waiting: at most ${MAX_WAITING_FRAMES}; wait for answers, then reconnect and resume`);
      return;
    }
    this.waiting++;
    this.waitingSize += size;
    const next = (this.queue ?? Promise.resolve()).then(() => this.handleOne(frame));
    this.queue = next;
    const settled = () => {
      this.waiting--;
      this.waitingSize -= size;
      if (this.queue === next) this.queue = null;
    };
    next.then(settled, settled);
  }

  private async handleOne(frame: unknown): Promise<void> {
    if (this.closed) return;
    if (frame === null || typeof frame !== "object" || Array.isArray(frame) || frame instanceof Uint8Array) {
      return this.error("bad_request", "A frame is a JSON object with a type.");
    }
    const f = frame as Record<string, unknown>;
    const about = {
      ...(typeof f.threadId === "number" ? { threadId: f.threadId } : {}),
      ...(f.feed === "me" ? { feed: "me" } : {}),
      ...(typeof f.clientId === "string" ? { clientId: f.clientId } : {}),
    };
    try {
      switch (f.type) {
        case "subscribe":
          if (f.feed === "me") return await this.subscribeFeed(parseCursor(f.after));
          return await this.subscribeThread(threadIdField(f.threadId), f.after === undefined || f.after === null ? null : seqValue(f.after, "after"));
        case "unsubscribe":
          return this.unsubscribe(f.feed === "me" ? topics.user(this.user.id) : topics.thread(threadIdField(f.threadId)));
        case "send":
          return await this.send(f);
        case "read":
          await markRead(this.core, this.user, threadIdField(f.threadId), seqValue(f.seq));
          return;
        case "typing": {
          // Only into a thread this connection follows: its membership was checked then.
          const threadId = threadIdField(f.threadId);
          if (!this.subscriptions.get(topics.thread(threadId))?.follow) throw new AppError("bad_request", "Subscribe to a thread before saying you are typing in it.");
          typing(this.core, this.user, threadId);
          return;
        }
        case "ping":
          // Browsers cannot send protocol pings; this one also tells a client that every frame
          // it sent before (sends aside, which answer with their own ack) has been handled.
          return this.reply({ type: "pong", ...(typeof f.id === "string" || typeof f.id === "number" ? { id: f.id } : {}) });
        default:
          return this.error("bad_request", "Unknown frame type: use subscribe, unsubscribe, send, read, typing or ping.");
      }
    } catch (err) {
      if (err instanceof AppError) return this.error(err.code, err.message, { ...about, ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}) });
      this.core.log.error(`ws ${String(f.type)}: ${(err as Error).stack ?? err}`);
      this.error("internal", "Something went wrong on our side.", about);
    }
  }

  private async send(f: Record<string, unknown>): Promise<void> {
    const threadId = threadIdField(f.threadId);
    if (typeof f.clientId !== "string") throw new AppError("bad_request", "A send needs a clientId string, to match its ack.");
    const { message } = await postMessage(this.core, this.user, { threadId, text: f.text, clientId: f.clientId });
    this.reply({ type: "ack", clientId: f.clientId, message });
  }

  private begin(topic: Topic): Subscription {
    if (this.subscriptions.has(topic)) this.unsubscribe(topic);
    if (this.subscriptions.size >= MAX_SUBSCRIPTIONS) {
      throw new AppError("bad_request", `A connection follows at most ${MAX_SUBSCRIPTIONS} topics.`);
    }
    const sub: Subscription = { topic, follow: null, cancelled: false, filtered: null };
    this.subscriptions.set(topic, sub);
    return sub;
  }

  /** Forgets a subscription that did not get going, if it is still the current one. */
  private abandon(sub: Subscription): void {
    if (this.subscriptions.get(sub.topic) === sub) this.subscriptions.delete(sub.topic);
  }

  /** Replays what the client missed, then follows the thread live (see resume.ts). */
  private async subscribeThread(threadId: number, after: number | null): Promise<void> {
    const sub = this.begin(topics.thread(threadId));
    let follow: CatchUp;
    try {
      await assertMember(this.core, this.user, threadId);
      follow = await catchUpThread(this.core, this.user.id, threadId, after, (message) => {
        if (sub.cancelled) return 0;
        const frame = fromBlocked({ type: "message", message }, this.blocked) ? skipFrame(threadId, message.seq, false) : render({ type: "message", message }, `ws-${this.format}`);
        this.push(frame);
        return frame.length;
      });
    } catch (err) {
      this.abandon(sub);
      throw err;
    }
    if (sub.cancelled || this.closed) return follow.release();
    if (follow.reset) {
      // Too far behind: say so instead of silently stopping at the limit.
      this.abandon(sub);
      this.reply({ type: "reset", threadId, lastSeq: follow.lastSeq, reason: "too many messages missed: fetch the history, then subscribe again" });
      return;
    }
    this.reply({ type: "subscribed", threadId, lastSeq: follow.lastSeq });
    this.goLive(sub, follow);
  }

  /** The person's own feed: the state of what changed since the cursor, then live. */
  private async subscribeFeed(since: number | null): Promise<void> {
    const sub = this.begin(topics.user(this.user.id));
    let follow: CatchUp;
    try {
      follow = await catchUpFeed(this.core, this.user, since, (cursor, change) => this.push(feedFrame(cursor, change)));
    } catch (err) {
      this.abandon(sub);
      throw err;
    }
    if (sub.cancelled || this.closed) return follow.release();
    this.reply({ type: "subscribed", feed: "me", cursor: feedCursor() });
    this.goLive(sub, follow);
  }

  /** From the buffered events to the live path, repeating nothing and missing nothing. */
  private goLive(sub: Subscription, follow: CatchUp): void {
    const deliver = (d: Delivery) => this.deliver(d);
    sub.follow = follow;
    if (this.blocked.size > 0) {
      follow.live(deliver, true);
      sub.filtered = () => {}; // the follow's own listener does the filtering
      return;
    }
    follow.handOff(deliver, () => {
      if (!sub.cancelled && !this.closed) this.socket.subscribe(socketTopic(sub.topic, this.format));
    });
  }

  private unsubscribe(topic: Topic): void {
    const sub = this.subscriptions.get(topic);
    if (!sub) return;
    this.subscriptions.delete(topic);
    sub.cancelled = true;
    if (sub.follow) {
      this.socket.unsubscribe(socketTopic(topic, this.format));
      sub.filtered?.();
      sub.follow.release();
    }
  }

  /** The socket is gone: let go of every topic. */
  onClosed(): void {
    this.closed = true;
    this.core.live.remove(this);
    for (const topic of [...this.subscriptions.keys()]) this.unsubscribe(topic);
  }
}

