// The JSON API under /api/v1. Each route validates its input's shape, calls one domain
// function and returns its result; errors are AppErrors, mapped to HTTP in app.ts.
import { Elysia, t } from "elysia";
import type { Core } from "../core.ts";
import { logIn, signUp } from "../chat/accounts.ts";
import { postMessage, startConversation } from "../chat/send.ts";
import { getThread, history, listThreads, markRead, MAX_PAGE_SIZE, type Thread } from "../chat/threads.ts";
import { AppError } from "../errors.ts";
import { fromOwnPage, isAllowedOrigin } from "../auth/origin.ts";
import { authenticate, expiredSessionCookie, requireSession, sessionCookie, SESSION_COOKIE } from "../web/auth.ts";
import { intQuery, seqValue, threadIdParam } from "../web/params.ts";

/** The thread as API clients see it (the page-only fields stay out). */
export function apiThread(thread: Thread) {
  const { id, kind, title, participants, lastMessageAt, lastSeq, total, sent, received, unread } = thread;
  return { id, kind, title, participants, lastMessageAt, lastSeq, total, sent, received, unread };
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
        async ({ body, request, cookie, set }) => {
          const user = await signUp(core.db, body);
          const { token } = await core.sessions.create(user);
          cookie[SESSION_COOKIE]!.set(sessionCookie(request, token));
          set.status = 201;
          return { user, token };
        },
        { body: credentials },
      )
      .post(
        "/login",
        async ({ body, request, cookie, auth }) => {
          const user = await logIn(core.db, body);
          // A fresh session on every login (no fixation); the one presented, if any, ends.
          if (auth.session) await core.sessions.invalidate(auth.session);
          const { token } = await core.sessions.create(user);
          cookie[SESSION_COOKIE]!.set(sessionCookie(request, token));
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
      .get("/threads", async ({ auth }) => ({ threads: (await listThreads(core, requireSession(auth).user)).map(apiThread) }))
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
