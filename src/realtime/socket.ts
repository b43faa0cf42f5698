// The WebSocket protocol at /api/v1/ws: JSON text frames, one connection per tab or client,
// any number of thread subscriptions on it, plus the person's own feed. Pages connect with
// ?view=html and receive each message rendered (the same bytes for every viewer); API
// clients receive the message JSON.
import type { Core } from "../core.ts";
import { AppError, type ErrorCode } from "../errors.ts";
import { postMessage } from "../chat/send.ts";
import { assertMember, markRead } from "../chat/threads.ts";
import { feedCursor, parseCursor } from "../chat/feed.ts";
import type { Session, SessionUser } from "../auth/session.ts";
import { socketTopic, topics, type Format, type Topic } from "./topics.ts";
import { render, feedFrame } from "./render.ts";
import { catchUpFeed, catchUpThread, type CatchUp } from "./resume.ts";
import { CLOSE, type LiveClient } from "./live.ts";
import { seqValue, threadIdField } from "../web/params.ts";

/** Threads one connection may follow at once. */
export const MAX_SUBSCRIPTIONS = 100;


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
}

export class Connection implements LiveClient {
  private readonly subscriptions = new Map<Topic, Subscription>();
  private closed = false;
  /** Frames are handled one after another, so a subscribe and the unsubscribe after it cannot cross. */
  private queue: Promise<void> = Promise.resolve();
  readonly user: SessionUser;

  constructor(
    private readonly core: Core,
    private readonly socket: Socket,
    private readonly session: Session,
    private readonly format: Format,
  ) {
    this.user = session.user;
    core.live.add(this);
  }

  get userId(): number {
    return this.user.id;
  }

  get sessionId(): string {
    return this.session.id;
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
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
  handle(frame: unknown): void {
    if (Date.now() >= this.session.expiresAt) {
      this.socket.close(CLOSE.unauthenticated, "session expired: log in again");
      return;
    }
    if (frame !== null && typeof frame === "object" && (frame as { type?: unknown }).type === "send") {
      void this.handleOne(frame);
      return;
    }
    this.queue = this.queue.then(() => this.handleOne(frame));
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
        default:
          return this.error("bad_request", "Unknown frame type: use subscribe, unsubscribe, send or read.");
      }
    } catch (err) {
      if (err instanceof AppError) return this.error(err.code, err.message, about);
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
    const sub: Subscription = { topic, follow: null, cancelled: false };
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
      follow = await catchUpThread(this.core, threadId, after, (message) => {
        const frame = render({ type: "message", message }, `ws-${this.format}`);
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

  /** From the buffered events to Bun's topic, repeating nothing and missing nothing. */
  private goLive(sub: Subscription, follow: CatchUp): void {
    const rendering = `ws-${this.format}` as const;
    sub.follow = follow;
    follow.handOff(
      (d) => this.push(d.frame(rendering)),
      () => {
        if (!sub.cancelled && !this.closed) this.socket.subscribe(socketTopic(sub.topic, this.format));
      },
    );
  }

  private unsubscribe(topic: Topic): void {
    const sub = this.subscriptions.get(topic);
    if (!sub) return;
    this.subscriptions.delete(topic);
    sub.cancelled = true;
    if (sub.follow) {
      this.socket.unsubscribe(socketTopic(topic, this.format));
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

