import { LIST_PAGE, type Thread } from "../src/chat/threads.ts";
import { CsrfField, FieldError, Layout, type PageContext } from "./layout.tsx";
import { systemText } from "./message.tsx";

export interface NewMessageForm {
  to?: string;
  text?: string;
  clientId: string;
  errors?: Record<string, string>;
}

export interface NewGroupForm {
  title?: string;
  members?: string;
  text?: string;
  clientId: string;
  errors?: Record<string, string>;
}

/** What a conversation is called for this viewer: its title, or the other people's names. */
export function threadName(thread: Thread, viewerId: number): string {
  if (thread.title) return thread.title;
  const others = thread.participants.filter((p) => p.id !== viewerId).map((p) => p.username);
  return others.length > 0 ? others.join(", ") : thread.participants.map((p) => p.username).join(", ");
}

/** The list's one-line preview of the last message, in the viewer's words. */
function preview(ctx: PageContext, thread: Thread): string {
  const last = thread.lastMessage;
  if (!last) return ctx.locale.t.list.noMessages;
  if (last.kind === "system" && last.event) {
    const actor = thread.participants.find((p) => p.id === last.senderId)?.username ?? "…";
    return systemText(ctx.locale.lang, actor, last.event);
  }
  return last.senderId === ctx.user!.id ? `${ctx.locale.t.list.you}: ${last.text}` : last.text;
}

export function ThreadItem({ ctx, thread }: { ctx: PageContext; thread: Thread }) {
  const { t } = ctx.locale;
  return (
    <li
      class={thread.unread > 0 ? "thread unread" : "thread"}
      id={`thread-${thread.id}`}
      data-thread-id={String(thread.id)}
      data-last-seq={String(thread.lastSeq)}
      data-unread={String(thread.unread)}
      data-status={thread.status}
    >
      <a href={`/chat/${thread.id}`}>
        <span class="name" safe>
          {threadName(thread, ctx.user!.id)}
        </span>
        <span class="count" safe>
          {ctx.locale.plural(t.plural.messages, thread.total)}
        </span>
        {thread.unread > 0 ? (
          <span class="badge" safe>
            {ctx.locale.plural(t.plural.unread, thread.unread)}
          </span>
        ) : (
          ""
        )}
        {thread.lastMessageAt ? (
          <time datetime={thread.lastMessageAt} safe>
            {ctx.locale.time(thread.lastMessageAt)}
          </time>
        ) : (
          ""
        )}
        <span class="preview" safe>
          {preview(ctx, thread)}
        </span>
      </a>
      {thread.status === "request" ? <RequestActions ctx={ctx} threadId={thread.id} direct={thread.kind === "direct"} /> : ""}
    </li>
  );
}

export function NewMessage({ ctx, form }: { ctx: PageContext; form: NewMessageForm }) {
  const { t } = ctx.locale;
  const errors = form.errors ?? {};
  return (
    <form id="new-message" method="post" action="/messages" class="card" hx-post="/messages" hx-target="this" hx-swap="outerHTML" novalidate>
      <h2 safe>{t.list.newMessage}</h2>
      <CsrfField ctx={ctx} />
      <input type="hidden" name="clientId" value={form.clientId} />
      <FieldError id="new-form-error" text={errors.form} />
      <label for="to" safe>
        {t.list.to}
      </label>
      <input
        id="to"
        name="to"
        value={form.to ?? ""}
        placeholder={t.list.toPlaceholder}
        autocomplete="off"
        autocapitalize="none"
        spellcheck="false"
        required
        aria-invalid={errors.to ? "true" : undefined}
        aria-describedby={errors.to ? "to-error" : undefined}
      />
      <FieldError id="to-error" text={errors.to} />
      <label for="new-text" safe>
        {t.list.text}
      </label>
      <textarea id="new-text" name="text" rows="3" required aria-invalid={errors.text ? "true" : undefined} aria-describedby={errors.text ? "new-text-error" : undefined} safe>
        {form.text ?? ""}
      </textarea>
      <FieldError id="new-text-error" text={errors.text} />
      <button type="submit" class="primary" safe>
        {t.list.send}
      </button>
    </form>
  );
}

export function NewGroup({ ctx, form }: { ctx: PageContext; form: NewGroupForm }) {
  const { t } = ctx.locale;
  const errors = form.errors ?? {};
  return (
    <form id="new-group" method="post" action="/groups" class="card" hx-post="/groups" hx-target="this" hx-swap="outerHTML" novalidate>
      <h2 safe>{t.groups.newGroup}</h2>
      <CsrfField ctx={ctx} />
      <input type="hidden" name="clientId" value={form.clientId} />
      <FieldError id="group-form-error" text={errors.form} />
      <label for="group-title" safe>
        {t.groups.title}
      </label>
      <input id="group-title" name="title" value={form.title ?? ""} maxlength="100" aria-invalid={errors.title ? "true" : undefined} aria-describedby="group-title-hint" />
      <p class="hint" id="group-title-hint" safe>
        {t.groups.titleHint}
      </p>
      <FieldError id="group-title-error" text={errors.title} />
      <label for="group-members" safe>
        {t.groups.members}
      </label>
      <input
        id="group-members"
        name="members"
        value={form.members ?? ""}
        autocomplete="off"
        autocapitalize="none"
        spellcheck="false"
        required
        aria-invalid={errors.members ? "true" : undefined}
        aria-describedby="group-members-hint"
      />
      <p class="hint" id="group-members-hint" safe>
        {t.groups.membersHint}
      </p>
      <FieldError id="group-members-error" text={errors.members} />
      <label for="group-text" safe>
        {t.groups.firstMessage}
      </label>
      <textarea id="group-text" name="text" rows="2" safe>
        {form.text ?? ""}
      </textarea>
      <FieldError id="group-text-error" text={errors.text} />
      <button type="submit" class="primary" safe>
        {t.groups.create}
      </button>
    </form>
  );
}

export function RequestActions({ ctx, threadId, direct }: { ctx: PageContext; threadId: number; direct: boolean }) {
  const { t } = ctx.locale;
  return (
    <div class="actions">
      <form method="post" action={`/chat/${threadId}/accept`} class="inline">
        <CsrfField ctx={ctx} />
        <button type="submit" class="primary small" safe>
          {t.requests.accept}
        </button>
      </form>
      <form method="post" action={`/chat/${threadId}/decline`} class="inline">
        <CsrfField ctx={ctx} />
        <button type="submit" class="small" safe>
          {t.requests.decline}
        </button>
      </form>
      {direct ? (
        <form method="post" action={`/chat/${threadId}/decline`} class="inline">
          <CsrfField ctx={ctx} />
          <input type="hidden" name="block" value="1" />
          <button type="submit" class="small danger" safe>
            {t.requests.declineBlock}
          </button>
        </form>
      ) : (
        ""
      )}
    </div>
  );
}

/** The list's items, rendered on their own: what the list cache keeps (web/list-cache.ts). */
export function ThreadItems({ ctx, threads }: { ctx: PageContext; threads: Thread[] }) {
  return (
    <>
      {threads.map((thread) => (
        <ThreadItem ctx={ctx} thread={thread} />
      ))}
    </>
  );
}

export interface ListView {
  /** The rendered items of this page of the list (JSX, escaped when it was rendered). */
  items: JSX.Element;
  count: number;
  nextOffset: number | null;
  requests: Thread[];
}

export function ThreadsPage({
  ctx,
  list,
  offset,
  form,
  group,
  cursor,
}: {
  ctx: PageContext;
  list: ListView;
  offset: number;
  form: NewMessageForm;
  group: NewGroupForm;
  cursor: string;
}) {
  const { t } = ctx.locale;
  const requests = list.requests;
  return (
    <Layout ctx={ctx} title={t.list.title} page="threads">
      <main class="threads">
        <h1 safe>{t.list.title}</h1>
        <p id="status" class="status" role="status" aria-live="polite"></p>
        <section id="requests-section" class="requests" hidden={requests.length === 0}>
          <h2 safe>{t.requests.title}</h2>
          <ul id="requests">
            {requests.map((thread) => (
              <ThreadItem ctx={ctx} thread={thread} />
            ))}
          </ul>
        </section>
        {list.count === 0 && offset === 0 ? (
          <p class="empty" safe>
            {t.list.empty}
          </p>
        ) : (
          ""
        )}
        {/* The feed resumes from when this list was read. */}
        <ul id="threads" data-cursor={cursor}>
          {list.items as "safe"}
        </ul>
        <nav class="pages">
          {offset > 0 ? (
            <a href={offset - LIST_PAGE > 0 ? `/messages?offset=${offset - LIST_PAGE}` : "/messages"} safe>
              {`← ${t.list.newer}`}
            </a>
          ) : (
            ""
          )}
          {list.nextOffset !== null ? (
            <a href={`/messages?offset=${list.nextOffset}`} safe>
              {`${t.list.older} →`}
            </a>
          ) : (
            ""
          )}
        </nav>
        <div class="forms">
          <NewMessage ctx={ctx} form={form} />
          <NewGroup ctx={ctx} form={group} />
        </div>
      </main>
    </Layout>
  );
}
