// A conversation's pages: reading it (marking it read), sending with the form, earlier
// messages, and, for groups, members and the title; message requests' accept and decline.
import { Elysia } from "elysia";
import type { Core } from "../core.ts";
import { postMessage } from "../chat/send.ts";
import { acceptRequest, getThread, history, markRead, messagesOf, partnerReadSeq, PAGE_SIZE } from "../chat/threads.ts";
import { addMember, removeMember, renameGroup } from "../chat/groups.ts";
import { blockedIds, declineRequest } from "../chat/blocks.ts";
import { presenceFor } from "../chat/presence.ts";
import { AppError } from "../errors.ts";
import type { UserRef } from "../realtime/events.ts";
import { intQuery, threadIdParam } from "./params.ts";
import { field, formErrors, newClientId, pageContext, refuse, signedIn } from "./page-context.ts";
import type { PageContext } from "../../views/layout.tsx";
import { ChatPage, MessagePage, type ComposeForm, type MembersForm } from "../../views/chat.tsx";

interface ChatView {
  before?: number;
  form?: ComposeForm;
  members?: MembersForm;
  /** Opening the latest page marks it read; a page shown again after a refused form does not. */
  markRead?: boolean;
}

/** The conversation page, as of one read of the thread (later messages arrive live). */
async function chatPage(core: Core, ctx: PageContext, me: UserRef, threadId: number, view: ChatView = {}) {
  const thread = await getThread(core, me, threadId);
  // getThread found the viewer's membership, which is what history() would check again.
  const messages = await messagesOf(core.db, threadId, { before: view.before ?? thread.lastSeq + 1, limit: PAGE_SIZE }, me.id);
  if (view.markRead && view.before === undefined && thread.lastSeq > thread.readSeq) {
    await markRead(core, me, threadId, thread.lastSeq);
    thread.unread = 0;
  }
  const partner = thread.kind === "direct" ? thread.participants.find((p) => p.id !== me.id) : undefined;
  const [presence, seenSeq, blocked] = await Promise.all([
    partner ? presenceFor(core, me, [partner.id]).then((p) => p[0] ?? null) : null,
    partner ? partnerReadSeq(core, me, threadId) : null,
    partner ? blockedIds(core, me.id) : new Set<number>(),
  ]);
  return (
    <ChatPage
      ctx={ctx}
      thread={thread}
      messages={messages}
      form={view.form ?? { clientId: newClientId() }}
      older={view.before !== undefined}
      presence={presence}
      seenSeq={seenSeq}
      partnerBlocked={partner ? blocked.has(partner.id) : false}
      members={view.members ?? {}}
    />
  );
}

export function chatRoutes(core: Core) {
  return new Elysia()
    .use(pageContext(core))
    .get("/chat/:id", async ({ ctx, session, params, query, request }) => {
      // Seeing the latest page is reading it; not when another site sent the browser here.
      return chatPage(core, ctx, signedIn(session), threadIdParam(params.id), {
        before: intQuery(query.before, "before", { min: 1 }),
        markRead: request.headers.get("sec-fetch-site") !== "cross-site",
      });
    })
    .get("/chat/:id/messages", async ({ ctx, session, params, query, set }) => {
      const threadId = threadIdParam(params.id);
      const before = intQuery(query.before, "before", { min: 1 });
      set.headers["vary"] = "HX-Request";
      return <MessagePage ctx={ctx} threadId={threadId} messages={await history(core, signedIn(session), threadId, { before, limit: PAGE_SIZE })} />;
    })
    .post("/chat/:id/messages", async ({ ctx, session, params, body, redirect, set }) => {
      const me = signedIn(session);
      const threadId = threadIdParam(params.id);
      const form: ComposeForm = { text: field(body, "text"), clientId: field(body, "clientId") || newClientId() };
      try {
        const { message } = await postMessage(core, me, { threadId, text: form.text, clientId: form.clientId });
        return redirect(`/chat/${threadId}#m-${message.seq}`, 303);
      } catch (err) {
        if (!(err instanceof AppError) || err.code === "not_found") throw err;
        refuse(set, err);
        return chatPage(core, ctx, me, threadId, { form: { ...form, errors: formErrors(err, ctx.locale) } });
      }
    })
    .post("/chat/:id/members", async ({ ctx, session, params, body, redirect, set }) => {
      const me = signedIn(session);
      const threadId = threadIdParam(params.id);
      const username = field(body, "username").trim();
      try {
        await addMember(core, me, threadId, username);
        return redirect(`/chat/${threadId}`, 303);
      } catch (err) {
        if (!(err instanceof AppError) || err.code === "not_found") throw err;
        refuse(set, err);
        const errors = formErrors(err, ctx.locale);
        return chatPage(core, ctx, me, threadId, { members: { username, errors: { username: errors.username ?? errors.form ?? "" } } });
      }
    })
    .post("/chat/:id/members/:username/remove", async ({ session, params, redirect }) => {
      const threadId = threadIdParam(params.id);
      await removeMember(core, signedIn(session), threadId, params.username);
      return redirect(`/chat/${threadId}`, 303);
    })
    .post("/chat/:id/leave", async ({ session, params, redirect }) => {
      const me = signedIn(session);
      await removeMember(core, me, threadIdParam(params.id), me.username);
      return redirect("/messages", 303);
    })
    .post("/chat/:id/rename", async ({ ctx, session, params, body, redirect, set }) => {
      const me = signedIn(session);
      const threadId = threadIdParam(params.id);
      const title = field(body, "title");
      try {
        await renameGroup(core, me, threadId, title);
        return redirect(`/chat/${threadId}`, 303);
      } catch (err) {
        if (!(err instanceof AppError) || err.code === "not_found") throw err;
        refuse(set, err);
        const errors = formErrors(err, ctx.locale);
        return chatPage(core, ctx, me, threadId, { members: { title, errors: { title: errors.title ?? errors.form ?? "" } } });
      }
    })
    .post("/chat/:id/accept", async ({ session, params, redirect }) => {
      const thread = await acceptRequest(core, signedIn(session), threadIdParam(params.id));
      return redirect(`/chat/${thread.id}`, 303);
    })
    .post("/chat/:id/decline", async ({ session, params, body, redirect }) => {
      await declineRequest(core, signedIn(session), threadIdParam(params.id), field(body, "block") === "1");
      return redirect("/messages", 303);
    });
}
