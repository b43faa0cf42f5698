// The WebSocket protocol at /api/v1/ws: JSON text frames, one connection per tab or client,
// any number of thread subscriptions on it. Pages connect with ?view=html and receive each
// message rendered (the same bytes for every viewer); API clients receive the message JSON.
import type { Core } from "../core.ts";
import { AppError, type ErrorCode } from "../errors.ts";
import { postMessage } from "../chat/send.ts";
import { assertMember, markRead, messagesOf } from "../chat/threads.ts";
import type { SessionUser } from "../auth/session.ts";
import { socketTopic, topics, type Format, type Topic } from "./topics.ts";
import type { Delivery } from "./fanout.ts";
import { renderers } from "./render.ts";
import type { LiveClient } from "./live.ts";
import { seqValue } from "../web/params.ts";

/** A resume that would replay more than this is cut short with a `reset`: reload the rest. */
export const REPLAY_LIMIT = 500;
/** Threads one connection may follow at once. */
export const MAX_SUBSCRIPTIONS = 100;

/** Close codes: 4401/4403 mean "do not reconnect as you are"; 1012 means "reconnect". */
export const CLOSE = {
  unauthenticated: 4401,
  tooBig: 1009,
  restarting: 1012,
  slow: 1013,
} as const;

/** The part of a Bun ServerWebSocket this module uses. */
export interface Socket {
  send(data: string): number;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  close(code?: number, reason?: string): void;
}

interface Subscription {
  topic: Topic;
  /** False until the replay is done and the socket follows the topic itself. */
  live: boolean;
  cancelled: boolean;
}

export class Connection implements LiveClient {
  private readonly subscriptions = new Map<number, Subscription>();
  private closed = false;

  constructor(
    private readonly core: Core,
    private readonly socket: Socket,
    readonly user: SessionUser,
    private readonly format: Format,
  ) {
    core.live.add(this);
  }

  get userId(): number {
    return this.user.id;
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

  /** A frame as Elysia hands it over: JSON text arrives parsed; anything else is not ours. */
  async handle(frame: unknown): Promise<void> {
    if (frame === null || typeof frame !== "object" || Array.isArray(frame) || frame instanceof Uint8Array) {
      return this.error("bad_request", "A frame is a JSON object with a type.");
    }
    const f = frame as Record<string, unknown>;
    const clientId = typeof f.clientId === "string" ? { clientId: f.clientId } : {};
    try {
      switch (f.type) {
        case "subscribe":
          return await this.subscribe(threadIdField(f.threadId), f.after === undefined || f.after === null ? null : seqValue(f.after, "after"));
        case "unsubscribe":
          return this.unsubscribe(threadIdField(f.threadId));
        case "send":
          return await this.send(f);
        case "read": {
          const threadId = threadIdField(f.threadId);
          await markRead(this.core, this.user, threadId, seqValue(f.seq));
          return;
        }
        default:
          return this.error("bad_request", "Unknown frame type: use subscribe, unsubscribe, send or read.");
      }
    } catch (err) {
      const threadId = typeof f.threadId === "number" ? { threadId: f.threadId } : {};
      if (err instanceof AppError) return this.error(err.code, err.message, { ...threadId, ...clientId });
      this.core.log.error(`ws ${String(f.type)}: ${(err as Error).stack ?? err}`);
      this.error("internal", "Something went wrong on our side.", { ...threadId, ...clientId });
    }
  }

  private async send(f: Record<string, unknown>): Promise<void> {
    const threadId = threadIdField(f.threadId);
    if (typeof f.clientId !== "string") throw new AppError("bad_request", "A send needs a clientId string, to match its ack.");
    const { message } = await postMessage(this.core, this.user, { threadId, text: f.text, clientId: f.clientId });
    this.reply({ type: "ack", clientId: f.clientId, message });
  }

  /**
   * Replays what the client missed, then follows the thread live, with nothing lost or
   * repeated in between: events that arrive during the replay are buffered and the ones
   * past the replay's end are sent after it, before the socket joins the live topic.
   */
  private async subscribe(threadId: number, after: number | null): Promise<void> {
    if (this.subscriptions.has(threadId)) this.unsubscribe(threadId);
    if (this.subscriptions.size >= MAX_SUBSCRIPTIONS) {
      throw new AppError("bad_request", `A connection follows at most ${MAX_SUBSCRIPTIONS} threads.`);
    }
    await assertMember(this.core, this.user, threadId);
    const topic = topics.thread(threadId);
    const sub: Subscription = { topic, live: false, cancelled: false };
    this.subscriptions.set(threadId, sub);
    await this.core.fanout.acquire(topic);
    if (sub.cancelled || this.closed) return this.core.fanout.release(topic);

    const buffered: Delivery[] = [];
    const stopBuffering = this.core.fanout.listen(topic, (d) => buffered.push(d));
    let last = after ?? this.core.fanout.lastDelivered(topic);
    try {
      if (after !== null) {
        const missed = await messagesOf(this.core.db, threadId, { after, limit: REPLAY_LIMIT + 1 });
        if (sub.cancelled || this.closed) throw new Cancelled();
        for (const message of missed.slice(0, REPLAY_LIMIT)) {
          this.push(renderers[this.format]({ type: "message", message }));
          last = message.seq;
        }
        if (missed.length > REPLAY_LIMIT) {
          // Too far behind: say so instead of silently stopping at the limit.
          this.reply({ type: "reset", threadId, lastSeq: last, reason: `more than ${REPLAY_LIMIT} messages missed: fetch history or reload` });
          throw new Cancelled();
        }
      }
    } catch (err) {
      stopBuffering();
      this.subscriptions.delete(threadId);
      this.core.fanout.release(topic);
      if (err instanceof Cancelled) return;
      throw err;
    }
    // From here to joining the topic nothing awaits, so no event can fall in between.
    stopBuffering();
    this.reply({ type: "subscribed", threadId, lastSeq: last });
    for (const d of buffered) {
      if (d.seq !== null && d.seq <= last) continue;
      this.push(d[this.format]());
      if (d.seq !== null) last = d.seq;
    }
    this.socket.subscribe(socketTopic(topic, this.format));
    sub.live = true;
  }

  private unsubscribe(threadId: number): void {
    const sub = this.subscriptions.get(threadId);
    if (!sub) return;
    this.subscriptions.delete(threadId);
    sub.cancelled = true;
    if (sub.live) {
      this.socket.unsubscribe(socketTopic(sub.topic, this.format));
      this.core.fanout.release(sub.topic);
    }
  }

  /** The socket is gone: let go of every topic. */
  onClosed(): void {
    this.closed = true;
    this.core.live.remove(this);
    for (const threadId of [...this.subscriptions.keys()]) this.unsubscribe(threadId);
  }
}

class Cancelled extends Error {}

function threadIdField(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new AppError("bad_request", "threadId must be a positive whole number.");
  }
  return value;
}
