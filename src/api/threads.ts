// /api/v1/threads: conversations, their messages, members, requests, reads and typing.
import { Elysia, t } from "elysia";
import type { Core } from "../core.ts";
import { postMessage, startConversation } from "../chat/send.ts";
import { acceptRequest, apiThread, assertMember, getThread, history, listThreads, markRead, partnerReadSeq, LIST_PAGE, MAX_PAGE_SIZE } from "../chat/threads.ts";
import { addMember, createGroup, removeMember, renameGroup } from "../chat/groups.ts";
import { declineRequest } from "../chat/blocks.ts";
import { presenceFor } from "../chat/presence.ts";
import { typing } from "../chat/typing.ts";
import { AppError } from "../errors.ts";
import { requireSession } from "../web/auth.ts";
import { intQuery, seqValue, threadIdParam } from "../web/params.ts";
import { apiContext } from "./context.ts";

export function threadRoutes(core: Core) {
  return new Elysia()
    .use(apiContext(core))
    .get("/threads", async ({ auth, query }) => {
      const status = query.status === undefined || query.status === "active" ? "active" : query.status === "request" ? "request" : null;
      if (status === null) throw new AppError("bad_request", "status is active or request.");
      const page = await listThreads(core, requireSession(auth).user, {
        offset: intQuery(query.offset, "offset"),
        limit: intQuery(query.limit, "limit", { min: 1, max: LIST_PAGE }),
        status,
      });
      return { threads: page.threads.map(apiThread), nextOffset: page.nextOffset };
    })
    .post(
      "/threads",
      async ({ auth, body, set }) => {
        const me = requireSession(auth).user;
        // Several people, or a title: a new group, every time. One person: their 1:1.
        if (body.participants.length > 1 || (body.title !== undefined && body.title !== null)) {
          const { thread, message } = await createGroup(core, me, { title: body.title, members: body.participants, text: body.text, clientId: body.clientId });
          set.status = 201;
          return message ? { thread: apiThread(thread), message } : { thread: apiThread(thread) };
        }
        if (body.participants.length !== 1) throw new AppError("invalid_participants", "Name at least one other person to write to.");
        const { thread, created, message } = await startConversation(core, me, { to: body.participants[0], text: body.text, clientId: body.clientId });
        set.status = created ? 201 : 200;
        return message ? { thread: apiThread(thread), message } : { thread: apiThread(thread) };
      },
      {
        body: t.Object({
          participants: t.Array(t.String({ maxLength: 64 }), { maxItems: 500 }),
          title: t.Optional(t.Unknown()),
          text: t.Optional(t.Unknown()),
          clientId: t.Optional(t.Unknown()),
        }),
      },
    )
    .get("/threads/:id", async ({ auth, params }) => ({
      thread: apiThread(await getThread(core, requireSession(auth).user, threadIdParam(params.id))),
    }))
    .patch(
      "/threads/:id",
      async ({ auth, params, body }) => {
        const me = requireSession(auth).user;
        const threadId = threadIdParam(params.id);
        const { message } = await renameGroup(core, me, threadId, body.title);
        return { thread: apiThread(await getThread(core, me, threadId)), message };
      },
      { body: t.Object({ title: t.Unknown() }) },
    )
    .post(
      "/threads/:id/members",
      async ({ auth, params, body, set }) => {
        const { message } = await addMember(core, requireSession(auth).user, threadIdParam(params.id), body.username);
        set.status = 201;
        return { message };
      },
      { body: t.Object({ username: t.Unknown() }) },
    )
    .delete("/threads/:id/members/:username", async ({ auth, params }) => {
      const { message } = await removeMember(core, requireSession(auth).user, threadIdParam(params.id), params.username);
      return { message };
    })
    .post("/threads/:id/accept", async ({ auth, params }) => ({
      thread: apiThread(await acceptRequest(core, requireSession(auth).user, threadIdParam(params.id))),
    }))
    .post(
      "/threads/:id/decline",
      async ({ auth, params, body, set }) => {
        if (body.block !== undefined && typeof body.block !== "boolean") throw new AppError("bad_request", "block must be true or false.");
        await declineRequest(core, requireSession(auth).user, threadIdParam(params.id), body.block === true);
        set.status = 204;
      },
      { body: t.Object({ block: t.Optional(t.Unknown()) }) },
    )
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
    .get("/threads/:id/receipts", async ({ auth, params }) => ({
      readSeq: await partnerReadSeq(core, requireSession(auth).user, threadIdParam(params.id)),
    }))
    .post("/threads/:id/typing", async ({ auth, params, set }) => {
      const me = requireSession(auth).user;
      const threadId = threadIdParam(params.id);
      await assertMember(core, me, threadId);
      typing(core, me, threadId);
      set.status = 204;
    })
    .get("/threads/:id/presence", async ({ auth, params }) => {
      const me = requireSession(auth).user;
      const thread = await getThread(core, me, threadIdParam(params.id));
      return { presence: await presenceFor(core, me, thread.participants.filter((p) => p.id !== me.id).map((p) => p.id)) };
    });
}
