import { LIST_PAGE, type Thread, type ThreadPage } from "../src/chat/threads.ts";
import { CsrfField, FieldError, Layout, type PageContext } from "./layout.tsx";

export interface NewMessageForm {
  to?: string;
  text?: string;
  clientId: string;
  errors?: Record<string, string>;
}

/** What a conversation is called for this viewer: the other people's names, or the title. */
export function threadName(thread: Thread, viewerId: number): string {
  if (thread.title) return thread.title;
  const others = thread.participants.filter((p) => p.id !== viewerId).map((p) => p.username);
  return others.length > 0 ? others.join(", ") : thread.participants.map((p) => p.username).join(", ");
}

export function ThreadItem({ ctx, thread }: { ctx: PageContext; thread: Thread }) {
  const { t } = ctx.locale;
  const me = ctx.user!.id;
  const last = thread.lastMessage;
  return (
    <li
      class={thread.unread > 0 ? "thread unread" : "thread"}
      id={`thread-${thread.id}`}
      data-thread-id={String(thread.id)}
      data-last-seq={String(thread.lastSeq)}
      data-unread={String(thread.unread)}
    >
      <a href={`/chat/${thread.id}`}>
        <span class="name" safe>
          {threadName(thread, me)}
        </span>
        <span class="count" safe>
          {ctx.locale.plural(t.plural.messages, thread.total)}
        </span>
        {thread.unread > 0 ? <span class="badge" safe>
            {ctx.locale.plural(t.plural.unread, thread.unread)}
          </span> : ""}
        {thread.lastMessageAt ? <time datetime={thread.lastMessageAt} safe>
            {ctx.locale.time(thread.lastMessageAt)}
          </time> : ""}
        {last ? (
          <span class="preview">
            {last.senderId === me ? <span class="you" safe>{`${t.list.you}: `}</span> : ""}
            <span safe>{last.text}</span>
          </span>
        ) : (
          <span class="preview" safe>
            {t.list.noMessages}
          </span>
        )}
      </a>
    </li>
  );
}

export function NewMessage({ ctx, form }: { ctx: PageContext; form: NewMessageForm }) {
  const { t } = ctx.locale;
  const errors = form.errors ?? {};
  return (
    <form
      id="new-message"
      method="post"
      action="/messages"
      class="card"
      hx-post="/messages"
      hx-target="this"
      hx-swap="outerHTML"
      novalidate
    >
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

export function ThreadsPage({
  ctx,
  page,
  offset,
  form,
  cursor,
}: {
  ctx: PageContext;
  page: ThreadPage;
  offset: number;
  form: NewMessageForm;
  cursor: string;
}) {
  const { t } = ctx.locale;
  const threads = page.threads;
  return (
    <Layout ctx={ctx} title={t.list.title} page="threads">
      <main class="threads">
        <h1 safe>{t.list.title}</h1>
        <p id="status" class="status" role="status" aria-live="polite"></p>
        {threads.length === 0 ? <p class="empty" safe>
            {t.list.empty}
          </p> : ""}
        {/* The feed resumes from when this list was read. */}
        <ul id="threads" data-cursor={cursor}>
          {threads.map((thread) => (
            <ThreadItem ctx={ctx} thread={thread} />
          ))}
        </ul>
        <nav class="pages">
          {offset > 0 ? (
            <a href={offset - LIST_PAGE > 0 ? `/messages?offset=${offset - LIST_PAGE}` : "/messages"} safe>
              {`← ${t.list.newer}`}
            </a>
          ) : (
            ""
          )}
          {page.nextOffset !== null ? (
            <a href={`/messages?offset=${page.nextOffset}`} safe>
              {`${t.list.older} →`}
            </a>
          ) : (
            ""
          )}
        </nav>
        <NewMessage ctx={ctx} form={form} />
      </main>
    </Layout>
  );
}
