// The JSON API under /api/v1. Each route validates its input's shape, calls one domain
// function and returns its result; errors are AppErrors, mapped to HTTP in app.ts.
import { Elysia, t } from "elysia";
import type { Core } from "../core.ts";
import { logIn, signUp } from "../chat/accounts.ts";
import { postMessage, startConversation } from "../chat/send.ts";
import { apiThread, assertMember, getThread, history, listThreads, markRead, LIST_PAGE, MAX_PAGE_SIZE } from "../chat/threads.ts";
import { AppError } from "../errors.ts";
import { fromOwnPage, isAllowedOrigin } from "../auth/origin.ts";
import { authenticate, expiredSessionCookie, requireSession, startSession, SESSION_COOKIE, type Auth } from "../web/auth.ts";
import type { Session } from "../auth/session.ts";
import { feedCursor, parseCursor } from "../chat/feed.ts";
import { catchUpFeed, catchUpThread } from "../realtime/resume.ts";
import { eventStream, renderingOf } from "../realtime/stream.ts";
import { feedFrame, render } from "../realtime/render.ts";
import { intQuery, seqValue, threadIdParam } from "../web/params.ts";

/**
 * Who opens an event stream. A cookie stream must come from our own pages: a same-origin
 * EventSource sends no Origin, but does send Sec-Fetch-Site: same-origin.
 */
function streamSession(core: Core, auth: Auth, request: Request): Session {
  const session = requireSession(auth);
  if (auth.via === "cookie" && !fromOwnPage(request, core.config.allowedOrigins)) {
    throw new AppError("forbidden", "Event streams with a cookie open only from this site's pages.");
  }
  return session;
}

const credentials = t.Object({ username: t.Unknown(), password: t.Unknown() });

export function apiRoutes(core: Core) {
  return (
    new Elysia({ name: "api-v1", prefix: "/api/v1" })
      .resolve(async ({ headers, cookie }) => ({
        auth: await authenticate(core, headers, cookie[SESSION_COOKIE]?.value as string | undefined),
      }))
      // A browser names the page that made a request in Origin. From a foreign page, nothing
      // that changes state is done: with a cookie it would act as the victim (CSRF), without
      // one it could log the victim into someone else's account (login CSRF).
      .onBeforeHandle(({ request, auth }) => {
        if (request.method === "GET" || request.method === "HEAD") return;
        const origin = request.headers.get("origin");
        const foreign = origin !== null && !isAllowedOrigin(origin, request, core.config.allowedOrigins);
        if (foreign || (auth.via === "cookie" && !fromOwnPage(request, core.config.allowedOrigins))) {
          throw new AppError("forbidden", "Cross-origin request refused: it did not come from this site's pages.");
        }
      })
      .post(
        "/signup",
        async ({ body, request, cookie, auth, set }) => {
          const user = await signUp(core.db, body);
          const token = await startSession(core, request, cookie[SESSION_COOKIE]!, user, auth.session);
          set.status = 201;
          return { user, token };
        },
        { body: credentials },
      )
      .post(
        "/login",
        async ({ body, request, cookie, auth }) => {
          const user = await logIn(core.db, body);
          const token = await startSession(core, request, cookie[SESSION_COOKIE]!, user, auth.session);
          return { user, token };
        },
        { body: credentials },
      )
      .post("/logout", async ({ auth, cookie, request, set }) => {
        await core.sessions.invalidate(requireSession(auth));
        cookie[SESSION_COOKIE]!.set(expiredSessionCookie(request));
        set.status = 204;
      })
      .get("/me", ({ auth }) => ({ user: requireSession(auth).user }))
      .get("/threads", async ({ auth, query }) => {
        const page = await listThreads(core, requireSession(auth).user, {
          offset: intQuery(query.offset, "offset"),
          limit: intQuery(query.limit, "limit", { min: 1, max: LIST_PAGE }),
        });
        return { threads: page.threads.map(apiThread), nextOffset: page.nextOffset };
      })
      .post(
        "/threads",
        async ({ auth, body, set }) => {
          const me = requireSession(auth).user;
          if (body.participants.length !== 1) {
            throw new AppError("invalid_participants", "Name exactly one other person to write to.");
          }
          const { thread, created, message } = await startConversation(core, me, { to: body.participants[0], text: body.text, clientId: body.clientId });
          set.status = created ? 201 : 200;
          return message ? { thread: apiThread(thread), message } : { thread: apiThread(thread) };
        },
        { body: t.Object({ participants: t.Array(t.String(), { maxItems: 100 }), text: t.Optional(t.Unknown()), clientId: t.Optional(t.Unknown()) }) },
      )
      .get("/threads/:id", async ({ auth, params }) => ({
        thread: apiThread(await getThread(core, requireSession(auth).user, threadIdParam(params.id))),
      }))
      .get("/threads/:id/messages", async ({ auth, params, query }) => {
        const me = requireSession(auth).user;
        const before = intQuery(query.before, "before", { min: 1 });
        const after = intQuery(query.after, "after");
        if (before !== undefined && after !== undefined) throw new AppError("bad_request", "Give before or after, not both.");
        const limit = intQuery(query.limit, "limit", { min: 1, max: MAX_PAGE_SIZE });
        return { messages: await history(core, me, threadIdParam(params.id), { before, after, limit }) };
      })
      .post(
        "/threads/:id/messages",
        async ({ auth, params, body, set }) => {
          const me = requireSession(auth).user;
          const { message, created } = await postMessage(core, me, { threadId: threadIdParam(params.id), text: body.text, clientId: body.clientId });
          set.status = created ? 201 : 200;
          return { message };
        },
        { body: t.Object({ text: t.Unknown(), clientId: t.Optional(t.Unknown()) }) },
      )
      // Server-Sent Events: the thread's messages, and the person's feed (see realtime/stream.ts).
      .get("/threads/:id/events", async ({ auth, params, query, request, server }) => {
        const session = streamSession(core, auth, request);
        const threadId = threadIdParam(params.id);
        await assertMember(core, session.user, threadId);
        const after = intQuery(request.headers.get("last-event-id") ?? query.after, "after (or Last-Event-ID)") ?? null;
        server?.timeout(request, 0); // Bun's idle timeout would cut a quiet stream
        const rendering = renderingOf(request);
        return eventStream(core, session, request, async (sink) => {
          const follow = await catchUpThread(core, threadId, after, (message) => {
            const record = render({ type: "message", message }, rendering);
            sink.send(record);
            return record.length;
          });
          if (follow.reset) {
            sink.send(`event: reset\ndata: ${JSON.stringify({ threadId, lastSeq: follow.lastSeq, reason: "too many messages missed: fetch the history, then reconnect" })}\n\n`);
            return "reset";
          }
          sink.send(`event: subscribed\ndata: ${JSON.stringify({ threadId, lastSeq: follow.lastSeq })}\n\n`);
          return follow;
        });
      })
      .get("/events", async ({ auth, query, request, server }) => {
        const session = streamSession(core, auth, request);
        const since = parseCursor(request.headers.get("last-event-id") ?? query.after);
        server?.timeout(request, 0);
        return eventStream(core, session, request, async (sink) => {
          const follow = await catchUpFeed(core, session.user, since, (cursor, change) => sink.send(`id: ${cursor}\nevent: feed\ndata: ${feedFrame(cursor, change)}\n\n`));
          sink.send(`event: subscribed\ndata: ${JSON.stringify({ feed: "me", cursor: feedCursor() })}\n\n`);
          return follow;
        });
      })
      .post(
        "/threads/:id/read",
        async ({ auth, params, body, set }) => {
          await markRead(core, requireSession(auth).user, threadIdParam(params.id), seqValue(body.seq));
          set.status = 204;
        },
        { body: t.Object({ seq: t.Unknown() }) },
      )
  );
}
