// /api/v1: Server-Sent Events for a thread's messages and for the person's feed (see
// realtime/stream.ts).
import { Elysia } from "elysia";
import type { Core } from "../core.ts";
import type { Session } from "../auth/session.ts";
import { fromOwnPage } from "../auth/origin.ts";
import { assertMember } from "../chat/threads.ts";
import { blockedIds } from "../chat/blocks.ts";
import { feedCursor, parseCursor } from "../chat/feed.ts";
import { AppError } from "../errors.ts";
import { catchUpFeed, catchUpThread, fromBlocked, skipFrame } from "../realtime/resume.ts";
import type { Message } from "../realtime/events.ts";
import { eventStream, renderingOf } from "../realtime/stream.ts";
import { feedFrame, render } from "../realtime/render.ts";
import { requireSession, type Auth } from "../web/auth.ts";
import { intQuery, threadIdParam } from "../web/params.ts";
import { apiContext } from "./context.ts";
import { MAX_STREAMS_PER_PERSON } from "../realtime/live.ts";

/**
 * Who opens an event stream. A cookie stream must come from our own pages: a same-origin
 * EventSource sends no Origin, but does send Sec-Fetch-Site: same-origin.
 */
function streamSession(core: Core, auth: Auth, request: Request): { session: Session; release: () => void } {
  const session = requireSession(auth);
  if (auth.via === "cookie" && !fromOwnPage(request, core.config.allowedOrigins)) {
    throw new AppError("forbidden", "Event streams with a cookie open only from this site's pages.");
  }
  // The place is taken now, before the membership and blocks are awaited: checked here and
  // counted only once the stream starts, a burst of requests would all pass together. The
  // caller gives it back once the stream is counted (eventStream adds it before returning),
  // or when it is refused.
  const release = core.live.reserve(session.user.id, "sse", MAX_STREAMS_PER_PERSON);
  if (!release) {
    throw new AppError("rate_limited", `Too many event streams: at most ${MAX_STREAMS_PER_PERSON} open at once.`, { retryAfter: 30 });
  }
  return { session, release };
}

export function streamRoutes(core: Core) {
  return new Elysia()
    .use(apiContext(core))
    .get("/threads/:id/events", async ({ auth, params, query, request, server }) => {
      const { session, release } = streamSession(core, auth, request);
      try {
        const threadId = threadIdParam(params.id);
        await assertMember(core, session.user, threadId);
        const after = intQuery(request.headers.get("last-event-id") ?? query.after, "after (or Last-Event-ID)") ?? null;
        server?.timeout(request, 0); // Bun's idle timeout would cut a quiet stream
        const rendering = renderingOf(request);
        const blocked = await blockedIds(core, session.user.id);
        const replay = (sink: { send(text: string): void }) => (message: Message) => {
          const record = fromBlocked({ type: "message", message }, blocked) ? skipFrame(threadId, message.seq, true) : render({ type: "message", message }, rendering);
          sink.send(record);
          return record.length;
        };
        return eventStream(
          core,
          session,
          request,
          async (sink) => {
            const follow = await catchUpThread(core, session.user.id, threadId, after, replay(sink));
            if (follow.reset) {
              sink.send(`event: reset\ndata: ${JSON.stringify({ threadId, lastSeq: follow.lastSeq, reason: "too many messages missed: fetch the history, then reconnect" })}\n\n`);
              return "reset";
            }
            // With the id, an EventSource that drops before its first message comes back with
            // Last-Event-ID and is given what it missed, instead of starting live again.
            sink.send(`id: ${follow.lastSeq}\nevent: subscribed\ndata: ${JSON.stringify({ threadId, lastSeq: follow.lastSeq })}\n\n`);
            return follow;
          },
          { threadId, blocked },
        );
      } finally {
        release(); // counted as open by now (eventStream adds it at once), or refused
      }
    })
    .get("/events", async ({ auth, query, request, server }) => {
      const { session, release } = streamSession(core, auth, request);
      try {
        const since = parseCursor(request.headers.get("last-event-id") ?? query.after);
        server?.timeout(request, 0);
        const blocked = await blockedIds(core, session.user.id);
        return eventStream(
          core,
          session,
          request,
          async (sink) => {
            const follow = await catchUpFeed(core, session.user, since, (cursor, change) => sink.send(`id: ${cursor}\nevent: feed\ndata: ${feedFrame(cursor, change)}\n\n`));
            const cursor = feedCursor();
            sink.send(`id: ${cursor}\nevent: subscribed\ndata: ${JSON.stringify({ feed: "me", cursor })}\n\n`);
            return follow;
          },
          { blocked },
        );
      } finally {
        release();
      }
    });
}
