import type { Thread } from "../src/chat/threads.ts";
import type { Message } from "../src/realtime/events.ts";
import { CsrfField, FieldError, Layout, type PageContext } from "./layout.tsx";
import { MessageItem } from "./message.tsx";
import { threadName } from "./threads.tsx";

export interface ComposeForm {
  text?: string;
  clientId: string;
  errors?: Record<string, string>;
}

/**
 * The "earlier messages" control heads the list. With htmx it loads the page before in place
 * (itself replaced by the next control and the older messages); without, it is a link.
 */
export function EarlierItem({ ctx, threadId, before }: { ctx: PageContext; threadId: number; before: number }) {
  return (
    <li class="earlier">
      <a href={`/chat/${threadId}?before=${before}`} hx-get={`/chat/${threadId}/messages?before=${before}`} hx-target="closest li" hx-swap="outerHTML" safe>
        {ctx.locale.t.chat.earlier}
      </a>
    </li>
  );
}

/** A page of history as list items: what "earlier messages" swaps in. */
export function MessagePage({ ctx, threadId, messages }: { ctx: PageContext; threadId: number; messages: Message[] }) {
  const first = messages[0];
  return (
    <>
      {first && first.seq > 1 ? (
        <EarlierItem ctx={ctx} threadId={threadId} before={first.seq} />
      ) : (
        <li class="beginning" safe>
          {ctx.locale.t.chat.beginning}
        </li>
      )}
      {messages.map((message) => (
        <MessageItem message={message} viewerId={ctx.user?.id} time={ctx.locale.time(message.createdAt)} />
      ))}
    </>
  );
}

export function Compose({ ctx, threadId, form }: { ctx: PageContext; threadId: number; form: ComposeForm }) {
  const { t } = ctx.locale;
  const error = form.errors?.text ?? form.errors?.form;
  return (
    <form id="compose" method="post" action={`/chat/${threadId}/messages`} class="compose" novalidate>
      <CsrfField ctx={ctx} />
      <input type="hidden" name="clientId" value={form.clientId} />
      <textarea
        id="compose-text"
        name="text"
        rows="3"
        placeholder={t.chat.placeholder}
        aria-label={t.list.text}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? "compose-error" : "compose-hint"}
        required
        safe
      >
        {form.text ?? ""}
      </textarea>
      <div class="compose-bar">
        <span class="hint" id="compose-hint" safe>
          {t.chat.sendHint}
        </span>
        <FieldError id="compose-error" text={error} />
        <button type="submit" class="primary" safe>
          {t.chat.send}
        </button>
      </div>
    </form>
  );
}

export function ChatPage({
  ctx,
  thread,
  messages,
  form,
  older,
}: {
  ctx: PageContext;
  thread: Thread;
  messages: Message[];
  form: ComposeForm;
  /** Showing an older page (no-JS "earlier messages"): live updates would not fit below it. */
  older: boolean;
}) {
  const { t } = ctx.locale;
  const name = threadName(thread, ctx.user!.id);
  return (
    <Layout ctx={ctx} title={name} page="chat">
      <main
        class="chat"
        id="chat"
        data-thread-id={String(thread.id)}
        data-last-seq={String(older ? 0 : thread.lastSeq)}
        data-live={older ? "false" : "true"}
      >
        <header class="chat-head">
          <a href="/messages" class="back" safe>
            {`← ${t.chat.back}`}
          </a>
          <h1>
            <span class="with" safe>{`${t.chat.with} `}</span>
            <span class="partner" safe>
              {name}
            </span>
          </h1>
          <dl class="counters">
            <div>
              <dt safe>{t.chat.total}</dt>
              <dd id="count-total" safe>
                {String(thread.total)}
              </dd>
            </div>
            <div>
              <dt safe>{t.chat.received}</dt>
              <dd id="count-received" safe>
                {String(thread.received)}
              </dd>
            </div>
            <div>
              <dt safe>{t.chat.sent}</dt>
              <dd id="count-sent" safe>
                {String(thread.sent)}
              </dd>
            </div>
          </dl>
          <p id="status" class="status" role="status" aria-live="polite"></p>
        </header>
        <ol id="messages" class="messages">
          <MessagePage ctx={ctx} threadId={thread.id} messages={messages} />
        </ol>
        {older ? (
          <p class="newer">
            <a href={`/chat/${thread.id}`} safe>
              {`${t.chat.latest} ↓`}
            </a>
          </p>
        ) : (
          ""
        )}
        <Compose ctx={ctx} threadId={thread.id} form={form} />
      </main>
    </Layout>
  );
}
