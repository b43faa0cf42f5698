// The server-rendered pages: accounts, language, and the conversation list. Each works with
// JavaScript off: plain forms that post and redirect (303) on success, or come back with the
// error beside the field and what was typed still in it. htmx and public/app.js only make
// them smoother and live. (Conversations: chat-pages.tsx; people and settings: people-pages.tsx.)
import { Elysia } from "elysia";
import type { Core } from "../core.ts";
import { logIn, signUp } from "../chat/accounts.ts";
import { startConversation } from "../chat/send.ts";
import { createGroup, MAX_GROUP_MEMBERS } from "../chat/groups.ts";
import { getThread, listThreads } from "../chat/threads.ts";
import { feedCursor } from "../chat/feed.ts";
import { AppError } from "../errors.ts";
import { isLang } from "../i18n/index.ts";
import { expiredSessionCookie, isHttps, startSession, SESSION_COOKIE } from "./auth.ts";
import { intQuery, threadIdParam } from "./params.ts";
import { backTo, field, formErrors, LANG_COOKIE, newClientId, pageContext, refuse, signedIn } from "./page-context.ts";
import type { PageContext } from "../../views/layout.tsx";
import type { UserRef } from "../realtime/events.ts";
import { AuthPage } from "../../views/auth.tsx";
import { NewGroup, NewMessage, ThreadItem, ThreadItems, ThreadsPage, type ListView, type NewGroupForm, type NewMessageForm } from "../../views/threads.tsx";
import { ListCache } from "./list-cache.ts";
import { PageTemplate, slot } from "./page-template.ts";
import { clientAddress } from "./address.ts";

const YEAR_S = 365 * 24 * 3600;

/** This person's list (rendered) and requests, read now. */
async function listView(core: Core, ctx: PageContext, me: UserRef, offset: number): Promise<ListView> {
  const [page, requests] = await Promise.all([listThreads(core, me, { offset }), listThreads(core, me, { status: "request" })]);
  return { items: await (<ThreadItems ctx={ctx} threads={page.threads} />), count: page.threads.length, nextOffset: page.nextOffset, requests: requests.threads };
}

type ListSlot = "csrf" | "message" | "group" | "cursor";

export function pageRoutes(core: Core) {
  /**
   * The list page as it was last rendered for a person (in a language, time zone and page of the
   * list), until something in their feed changes: a busy person reloads it far more often than
   * their conversations change, and it is the most expensive page there is.
   */
  const cache = new ListCache<PageTemplate<ListSlot>>(core);
  /**
   * The list page, with whatever the two "new" forms hold. The cursor is taken before the list
   * is read: the feed resumes from it, and must not skip a change made while it was read.
   */
  const listPage = async (ctx: PageContext, me: UserRef, offset: number, form: NewMessageForm, group: NewGroupForm, cursor = feedCursor()) => {
    const list = await listView(core, ctx, me, offset);
    return <ThreadsPage ctx={ctx} list={list} offset={offset} form={form} group={group} cursor={cursor} />;
  };
  /** The list page with empty forms: from the cache, its per-request values filled in. */
  const freshListPage = async (ctx: PageContext, me: UserRef, offset: number): Promise<string> => {
    // A kept page is dropped as soon as the person's feed changes, so now is its cursor.
    const values = { csrf: ctx.csrf, message: newClientId(), group: newClientId(), cursor: feedCursor() };
    const key = `${ctx.locale.lang}|${ctx.locale.timeZone}|${offset}`;
    const cached = cache.get(me.id, key);
    if (cached) return cached.fill(values);
    const started = Date.now();
    const slotted = { ...ctx, csrf: slot("csrf") };
    const template = new PageTemplate<ListSlot>(await listPage(slotted, me, offset, { clientId: slot("message") }, { clientId: slot("group") }, slot("cursor")));
    await cache.set(me.id, key, template, started);
    return template.fill(values);
  };
  /**
   * The busiest page, answered as a Response of its own: the html plugin would trim a copy of
   * the whole page to see that it is HTML, which it plainly is.
   */
  const htmlResponse = async (page: JSX.Element | Promise<string>, status = 200) =>
    new Response(await page, { status, headers: { "content-type": "text/html; charset=utf-8" } });
  return new Elysia()
    .use(pageContext(core))
    .get("/", ({ session, redirect }) => redirect(session ? "/messages" : "/login", 303))
    .get("/login", ({ ctx, session, redirect }) => (session ? redirect("/messages", 303) : <AuthPage ctx={ctx} mode="login" />))
    .get("/signup", ({ ctx, session, redirect }) => (session ? redirect("/messages", 303) : <AuthPage ctx={ctx} mode="signup" />))
    .post("/login", async ({ body, ctx, jar, session, request, redirect, set, server }) => {
      const username = field(body, "username");
      try {
        const user = await logIn(core, { username, password: field(body, "password") }, clientAddress(request, server));
        await startSession(core, request, jar[SESSION_COOKIE]!, user, session);
        return redirect("/messages", 303);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        refuse(set, err);
        return <AuthPage ctx={ctx} mode="login" form={{ username, errors: formErrors(err, ctx.locale) }} />;
      }
    })
    .post("/signup", async ({ body, ctx, jar, session, request, redirect, set, server }) => {
      const username = field(body, "username");
      try {
        const user = await signUp(core, { username, password: field(body, "password") }, clientAddress(request, server));
        await startSession(core, request, jar[SESSION_COOKIE]!, user, session);
        return redirect("/messages", 303);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        refuse(set, err);
        return <AuthPage ctx={ctx} mode="signup" form={{ username, errors: formErrors(err, ctx.locale) }} />;
      }
    })
    .post("/logout", async ({ session, jar, request, redirect }) => {
      if (session) await core.sessions.invalidate(session);
      jar[SESSION_COOKIE]!.set(expiredSessionCookie(request));
      return redirect("/login", 303);
    })
    .post("/logout-everywhere", async ({ session, jar, request, redirect }) => {
      await core.sessions.invalidateAll(signedIn(session).id);
      jar[SESSION_COOKIE]!.set(expiredSessionCookie(request));
      return redirect("/login", 303);
    })
    .post("/lang", ({ body, jar, request, redirect }) => {
      const lang = field(body, "lang");
      if (isLang(lang)) jar[LANG_COOKIE]!.set({ value: lang, path: "/", sameSite: "lax", maxAge: YEAR_S, secure: isHttps(request) });
      return redirect(backTo(body, "/"), 303);
    })
    .get("/messages", async ({ ctx, session, query }) => {
      const me = signedIn(session);
      const to = typeof query.to === "string" ? query.to.slice(0, 64) : "";
      const offset = intQuery(query.offset, "offset") ?? 0;
      // "New message to …" links prefill the form: rendered for this request alone.
      if (to !== "") return htmlResponse(listPage(ctx, me, offset, { to, clientId: newClientId() }, { clientId: newClientId() }));
      return htmlResponse(freshListPage(ctx, me, offset));
    })
    // One conversation's list item, for the live list to swap in.
    .get("/messages/threads/:id", async ({ ctx, session, params }) => (
      <ThreadItem ctx={ctx} thread={await getThread(core, signedIn(session), threadIdParam(params.id))} />
    ))
    .post("/messages", async ({ ctx, session, body, redirect, request, set }) => {
      const me = signedIn(session);
      const form: NewMessageForm = { to: field(body, "to"), text: field(body, "text"), clientId: field(body, "clientId") || newClientId() };
      const htmx = request.headers.get("hx-request") === "true";
      try {
        const { thread } = await startConversation(core, me, form);
        if (!htmx) return redirect(`/chat/${thread.id}`, 303);
        set.status = 204;
        set.headers["hx-redirect"] = `/chat/${thread.id}`;
        return;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        refuse(set, err);
        const failed = { ...form, errors: formErrors(err, ctx.locale) };
        if (htmx) return <NewMessage ctx={ctx} form={failed} />;
        return listPage(ctx, me, 0, failed, { clientId: newClientId() });
      }
    })
    .post("/groups", async ({ ctx, session, body, redirect, request, set }) => {
      const me = signedIn(session);
      const form: NewGroupForm = { title: field(body, "title"), members: field(body, "members"), text: field(body, "text"), clientId: field(body, "clientId") || newClientId() };
      const htmx = request.headers.get("hx-request") === "true";
      try {
        const members = form.members!.split(/[\s,;]+/).filter((n) => n !== "");
        // Refused before any name is looked up: the API holds participants to the same number.
        if (members.length > MAX_GROUP_MEMBERS) {
          throw new AppError("invalid_participants", `A group has at most ${MAX_GROUP_MEMBERS} members: name at most ${MAX_GROUP_MEMBERS}.`, { field: "members" });
        }
        const text = form.text!.trim() === "" ? undefined : form.text;
        const title = form.title!.trim() === "" ? undefined : form.title;
        const { thread } = await createGroup(core, me, { title, members, text, clientId: form.clientId });
        if (!htmx) return redirect(`/chat/${thread.id}`, 303);
        set.status = 204;
        set.headers["hx-redirect"] = `/chat/${thread.id}`;
        return;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        refuse(set, err);
        const failed = { ...form, errors: formErrors(err, ctx.locale) };
        if (htmx) return <NewGroup ctx={ctx} form={failed} />;
        return listPage(ctx, me, 0, { clientId: newClientId() }, failed);
      }
    });
}
