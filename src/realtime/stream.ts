// Server-Sent Events, for clients that cannot use a WebSocket. One stream follows one thread
// (GET /api/v1/threads/:id/events) or the person's feed (GET /api/v1/events), resuming from
// Last-Event-ID or ?after= (a new EventSource cannot set headers) exactly like a subscribe.
//
// A plain ReadableStream, not Elysia's generator: its cancel() runs the moment the client
// goes away, so the stream is unsubscribed at once, not at the next event.
import type { Core } from "../core.ts";
import type { Session } from "../auth/session.ts";
import type { LiveClient } from "./live.ts";
import { fromBlocked, skipFrame, type CatchUp } from "./resume.ts";

/** Proxies cut quiet connections; a comment this often keeps the stream busy enough. */
export const KEEPALIVE_MS = 15_000;
/** Bytes queued for a reader that does not read before the stream is ended; it resumes. */
export const SSE_BUFFER_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

export interface StreamSink {
  send(text: string): void;
}

/**
 * Opens an event stream. `open` replays and returns the live subscription; it runs inside
 * the stream, so the response starts at once and the client sees the replay as it comes.
 */
export function eventStream(
  core: Core,
  session: Session,
  request: Request,
  open: (sink: StreamSink) => Promise<CatchUp | "reset">,
  options: {
    /** The thread this stream follows, if it is a thread's: removal from it ends the stream. */
    threadId?: number;
    /** The people this person blocked: what they send is left out. */
    blocked: ReadonlySet<number>;
  },
): Response {
  let blocked = options.blocked;
  let follow: CatchUp | null = null;
  let keepalive: ReturnType<typeof setInterval> | null = null;
  let ended = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;

  const client: LiveClient = {
    kind: "sse",
    userId: session.user.id,
    sessionId: session.id,
    close: () => end(true),
    leaveThread: (id) => {
      if (id === options.threadId) end(true);
    },
    setBlocked: (ids) => {
      blocked = ids;
    },
  };

  function end(closeStream: boolean): void {
    if (ended) return;
    ended = true;
    if (keepalive) clearInterval(keepalive);
    follow?.release();
    core.live.remove(client);
    if (closeStream) {
      try {
        controller.close();
      } catch {
        /* already closed by the client */
      }
    }
  }

  const sink: StreamSink = {
    send(text) {
      if (ended) return;
      controller.enqueue(encoder.encode(text));
      // A reader this far behind is not reading: end it; it comes back with Last-Event-ID.
      if ((controller.desiredSize ?? 0) < 0) end(true);
    },
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        // start() runs inside `new ReadableStream`: the stream counts against the person's
        // limit before eventStream returns, when the route gives back the place it reserved.
        core.live.add(client);
        // The first bytes go out at once: clients and proxies see a live stream.
        sink.send(`retry: 3000\n: connected\n\n`);
        keepalive = setInterval(() => sink.send(`: keep-alive\n\n`), KEEPALIVE_MS);
        open(sink).then(
          (result) => {
            if (result === "reset") return end(true);
            if (ended) return result.release();
            follow = result;
            const rendering = renderingOf(request);
            follow.live((d) => {
              if (!fromBlocked(d.event, blocked)) sink.send(d.frame(rendering));
              else if (d.event.type === "message") sink.send(skipFrame(d.event.message.threadId, d.event.message.seq, true));
            }, true);
          },
          (err) => {
            core.log.warn(`event stream: ${(err as Error).message}`);
            end(true);
          },
        );
      },
      cancel() {
        end(false);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: SSE_BUFFER_BYTES }),
  );
  request.signal.addEventListener("abort", () => end(false), { once: true });

  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      // nginx-style proxies must not buffer; Caddy passes it through with flush_interval -1.
      "x-accel-buffering": "no",
    },
  });
}

/** Pages ask for rendered HTML (?view=html); everyone else gets the message JSON. */
export function renderingOf(request: Request): "sse-json" | "sse-html" {
  return new URL(request.url).searchParams.get("view") === "html" ? "sse-html" : "sse-json";
}
