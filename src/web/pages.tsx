// The server-rendered pages. Each works with JavaScript off: plain forms that post and
// redirect (303) on success, or come back (422) with the error beside the field and what was
// typed still in it. htmx and public/app.js only make them smoother and live.
import { Elysia } from "elysia";
import type { Core } from "../core.ts";
import { logIn, signUp } from "../chat/accounts.ts";
import { postMessage, startConversation } from "../chat/send.ts";
import { getThread, history, listThreads, markRead, PAGE_SIZE } from "../chat/threads.ts";
import { AppError } from "../errors.ts";
import type { Session } from "../auth/session.ts";
import { newPreSessionToken, PRE_SESSION_COOKIE, sameToken, sessionCsrfToken } from "../auth/csrf.ts";
import { fromOwnPage } from "../auth/origin.ts";
import { isLang, locale, negotiate, validTimeZone, type Locale } from "../i18n/index.ts";
import { authenticate, expiredSessionCookie, isHttps, startSession, SESSION_COOKIE } from "./auth.ts";
import { intQuery, threadIdParam } from "./params.ts";
import type { PageContext } from "../../views/layout.tsx";
import { AuthPage } from "../../views/auth.tsx";
import { ThreadsPage, ThreadItem, NewMessage, type NewMessageForm } from "../../views/threads.tsx";
import { feedCursor } from "../chat/feed.ts";
import { ChatPage, MessagePage, type ComposeForm } from "../../views/chat.tsx";

const LANG_COOKIE = "lang";
const TZ_COOKIE = "tz";
const YEAR_S = 365 * 24 * 3600;

type Cookies = Record<string, { value?: unknown; set(options: Record<string, unknown>): void; remove(): void }>;

/** Every field of a form is text; anything else (a repeated field, a file) reads as empty. */
function field(body: unknown, name: string): string {
  const value = body !== null && typeof body === "object" ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" ? value : "";
}

const newClientId = () => crypto.randomUUID();

/** The error a person reads, in their language, for the field it belongs to. */
function formErrors(err: AppError, l: Locale): Record<string, string> {
  const text = (l.t.errors as Record<string, string>)[err.code] ?? err.message;
  // A name that does not exist is worth repeating back; the rest read best from the catalogue.
  return { [err.field ?? "form"]: err.code === "unknown_user" && l.lang === "en" ? err.message : text };
}

export function pageRoutes(core: Core) {
  return (
    new Elysia({ name: "pages" })
      .resolve(async ({ headers, cookie, request }) => {
        const jar = cookie as unknown as Cookies;
        const auth = await authenticate(core, { authorization: undefined }, jar[SESSION_COOKIE]?.value as string | undefined);
        const session: Session | null = auth.session;
        const langCookie = jar[LANG_COOKIE]?.value;
        const l = locale(isLang(langCookie) ? langCookie : negotiate(headers["accept-language"]), validTimeZone(jar[TZ_COOKIE]?.value as string | undefined));
        let csrf: string;
        if (session) {
          csrf = sessionCsrfToken(session);
        } else {
          const existing = jar[PRE_SESSION_COOKIE]?.value;
          csrf = typeof existing === "string" && existing.length >= 16 && existing.length <= 64 ? existing : newPreSessionToken();
          if (csrf !== existing) {
            jar[PRE_SESSION_COOKIE]!.set({ value: csrf, httpOnly: true, sameSite: "lax", path: "/", secure: isHttps(request) });
          }
        }
        const ctx: PageContext = { locale: l, user: session?.user ?? null, csrf, path: new URL(request.url).pathname };
        return { session, ctx, jar };
      })
      // Every page that changes something is a POST from one of our own pages, carrying the
      // token of this session (or of this browser, before login).
      .onBeforeHandle(({ request, body, ctx, session, set }) => {
        if (request.method !== "POST") return;
        // Logging out of a session that has already ended changes nothing: let it through.
        if (!session && new URL(request.url).pathname === "/logout") return;
        if (!fromOwnPage(request, core.config.allowedOrigins) || !sameToken(field(body, "_csrf"), ctx.csrf)) {
          set.status = 403;
          throw new AppError("forbidden", "This form came from another site or an old page: reload and try again.");
        }
      })
      .get("/", ({ session, redirect }) => redirect(session ? "/messages" : "/login", 303))
      .get("/login", ({ ctx, session, redirect }) => (session ? redirect("/messages", 303) : <AuthPage ctx={ctx} mode="login" />))
      .get("/signup", ({ ctx, session, redirect }) => (session ? redirect("/messages", 303) : <AuthPage ctx={ctx} mode="signup" />))
      .post("/login", async ({ body, ctx, jar, session, request, redirect, set }) => {
        const username = field(body, "username");
        try {
          const user = await logIn(core.db, { username, password: field(body, "password") });
          await startSession(core, request, jar[SESSION_COOKIE]!, user, session);
          return redirect("/messages", 303);
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          set.status = err.status;
          return <AuthPage ctx={ctx} mode="login" form={{ username, errors: formErrors(err, ctx.locale) }} />;
        }
      })
      .post("/signup", async ({ body, ctx, jar, session, request, redirect, set }) => {
        const username = field(body, "username");
        try {
          const user = await signUp(core.db, { username, password: field(body, "password") });
          await startSession(core, request, jar[SESSION_COOKIE]!, user, session);
          return redirect("/messages", 303);
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          set.status = err.status;
          return <AuthPage ctx={ctx} mode="signup" form={{ username, errors: formErrors(err, ctx.locale) }} />;
        }
      })
      .post("/logout", async ({ session, jar, request, redirect }) => {
        if (session) await core.sessions.invalidate(session);
        jar[SESSION_COOKIE]!.set(expiredSessionCookie(request));
        return redirect("/login", 303);
      })
      .post("/lang", ({ body, jar, request, redirect }) => {
        const lang = field(body, "lang");
        if (isLang(lang)) jar[LANG_COOKIE]!.set({ value: lang, path: "/", sameSite: "lax", maxAge: YEAR_S, secure: isHttps(request) });
        const back = field(body, "back");
        // Only a path on this site: never an open redirect.
        return redirect(/^\/(?!\/)[\w\-./]*$/.test(back) ? back : "/", 303);
      })
      .get("/messages", async ({ ctx, session, query, redirect }) => {
        if (!session) return redirect("/login", 303);
        const cursor = feedCursor();
        const offset = intQuery(query.offset, "offset") ?? 0;
        const page = await listThreads(core, session.user, { offset });
        return <ThreadsPage ctx={ctx} page={page} offset={offset} form={{ clientId: newClientId() }} cursor={cursor} />;
      })
      // One conversation's list item, for the live list to swap in.
      .get("/messages/threads/:id", async ({ ctx, session, params }) => {
        if (!session) throw new AppError("unauthenticated", "Please log in.");
        return <ThreadItem ctx={ctx} thread={await getThread(core, session.user, threadIdParam(params.id))} />;
      })
      .post("/messages", async ({ ctx, session, body, redirect, request, set }) => {
        if (!session) return redirect("/login", 303);
        const form: NewMessageForm = { to: field(body, "to"), text: field(body, "text"), clientId: field(body, "clientId") || newClientId() };
        const htmx = request.headers.get("hx-request") === "true";
        try {
          const { thread } = await startConversation(core, session.user, form);
          if (htmx) {
            set.status = 204;
            set.headers["hx-redirect"] = `/chat/${thread.id}`;
            return;
          }
          return redirect(`/chat/${thread.id}`, 303);
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          set.status = err.status;
          const failed = { ...form, errors: formErrors(err, ctx.locale) };
          if (htmx) return <NewMessage ctx={ctx} form={failed} />;
          return <ThreadsPage ctx={ctx} page={await listThreads(core, session.user)} offset={0} form={failed} cursor={feedCursor()} />;
        }
      })
      .get("/chat/:id", async ({ ctx, session, params, query, request, redirect }) => {
        if (!session) return redirect("/login", 303);
        const me = session.user;
        const threadId = threadIdParam(params.id);
        const before = intQuery(query.before, "before", { min: 1 });
        const thread = await getThread(core, me, threadId);
        // The page shows the thread as of that read: a message committed a moment later is
        // after data-last-seq and arrives live, instead of showing twice.
        const messages = await history(core, me, threadId, { before: before ?? thread.lastSeq + 1, limit: PAGE_SIZE });
        // Seeing the latest page is reading it. Not when another site sent the browser here.
        if (before === undefined && thread.lastSeq > thread.readSeq && request.headers.get("sec-fetch-site") !== "cross-site") {
          await markRead(core, me, threadId, thread.lastSeq);
          thread.unread = 0;
        }
        return <ChatPage ctx={ctx} thread={thread} messages={messages} form={{ clientId: newClientId() }} older={before !== undefined} />;
      })
      .get("/chat/:id/messages", async ({ ctx, session, params, query, set }) => {
        if (!session) throw new AppError("unauthenticated", "Please log in.");
        const threadId = threadIdParam(params.id);
        const before = intQuery(query.before, "before", { min: 1 });
        set.headers["vary"] = "HX-Request";
        return <MessagePage ctx={ctx} threadId={threadId} messages={await history(core, session.user, threadId, { before, limit: PAGE_SIZE })} />;
      })
      .post("/chat/:id/messages", async ({ ctx, session, params, body, redirect, set }) => {
        if (!session) return redirect("/login", 303);
        const me = session.user;
        const threadId = threadIdParam(params.id);
        const form: ComposeForm = { text: field(body, "text"), clientId: field(body, "clientId") || newClientId() };
        try {
          const { message } = await postMessage(core, me, { threadId, text: form.text, clientId: form.clientId });
          return redirect(`/chat/${threadId}#m-${message.seq}`, 303);
        } catch (err) {
          if (!(err instanceof AppError) || err.code === "not_found") throw err;
          set.status = err.status;
          const thread = await getThread(core, me, threadId);
          const messages = await history(core, me, threadId, { before: thread.lastSeq + 1, limit: PAGE_SIZE });
          return <ChatPage ctx={ctx} thread={thread} messages={messages} form={{ ...form, errors: formErrors(err, ctx.locale) }} older={false} />;
        }
      })
  );
}
