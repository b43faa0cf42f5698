import type { Thread } from "../src/chat/threads.ts";
import type { Message } from "../src/realtime/events.ts";
import { CsrfField, FieldError, Layout, type PageContext } from "./layout.tsx";
import { MessageItem } from "./message.tsx";
import { RequestActions, threadName } from "./threads.tsx";
import { fill } from "../src/i18n/index.ts";
import type { ShownPresence } from "../src/chat/presence.ts";
import { PresenceLine } from "./presence.tsx";

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
export function MessagePage({ ctx, threadId, messages, seenSeq }: { ctx: PageContext; threadId: number; messages: Message[]; seenSeq?: number }) {
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
        <MessageItem message={message} viewerId={ctx.user?.id} time={ctx.locale.time(message.createdAt)} seen={message.seq === seenSeq ? ctx.locale.t.people.seen : undefined} />
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

export interface MembersForm {
  username?: string;
  title?: string;
  errors?: Record<string, string>;
}

/** A group's members, with what its creator (or each member, for themselves) may change. */
function Members({ ctx, thread, form }: { ctx: PageContext; thread: Thread; form: MembersForm }) {
  const { t } = ctx.locale;
  const me = ctx.user!.id;
  const creator = thread.createdBy === me;
  const errors = form.errors ?? {};
  return (
    <details class="members" open={errors.username || errors.title ? true : undefined}>
      <summary safe>{`${t.groups.members} (${thread.participants.length})`}</summary>
      <ul id="members">
        {thread.participants.map((p) => (
          <li data-user-id={String(p.id)}>
            <a href={`/u/${encodeURIComponent(p.username)}`} safe>
              {p.username}
            </a>
            {p.id === thread.createdBy ? <span class="tag" safe>{t.groups.creator}</span> : ""}
            {p.id === me ? <span class="tag" safe>{t.groups.you}</span> : ""}
            {creator && p.id !== me ? (
              <form method="post" action={`/chat/${thread.id}/members/${encodeURIComponent(p.username)}/remove`} class="inline">
                <CsrfField ctx={ctx} />
                <button type="submit" class="link danger" safe>
                  {t.groups.remove}
                </button>
              </form>
            ) : (
              ""
            )}
          </li>
        ))}
      </ul>
      <form method="post" action={`/chat/${thread.id}/members`} class="row" novalidate>
        <CsrfField ctx={ctx} />
        <label for="add-member" class="sr-only" safe>
          {t.groups.addMember}
        </label>
        <input id="add-member" name="username" value={form.username ?? ""} placeholder={t.groups.addMember} autocomplete="off" autocapitalize="none" aria-invalid={errors.username ? "true" : undefined} />
        <button type="submit" safe>
          {t.groups.add}
        </button>
      </form>
      <FieldError id="add-member-error" text={errors.username} />
      {creator ? (
        <>
          <form method="post" action={`/chat/${thread.id}/rename`} class="row" novalidate>
            <CsrfField ctx={ctx} />
            <label for="rename" class="sr-only" safe>
              {t.groups.title}
            </label>
            <input id="rename" name="title" value={form.title ?? thread.title ?? ""} maxlength="100" aria-invalid={errors.title ? "true" : undefined} />
            <button type="submit" safe>
              {t.groups.rename}
            </button>
          </form>
          <FieldError id="rename-error" text={errors.title} />
        </>
      ) : (
        ""
      )}
      <form method="post" action={`/chat/${thread.id}/leave`}>
        <CsrfField ctx={ctx} />
        <button type="submit" class="link danger" safe>
          {t.groups.leave}
        </button>
      </form>
    </details>
  );
}

export function ChatPage({
  ctx,
  thread,
  messages,
  form,
  older,
  presence = null,
  seenSeq = null,
  partnerBlocked = false,
  members = {},
}: {
  ctx: PageContext;
  thread: Thread;
  messages: Message[];
  form: ComposeForm;
  /** Showing an older page (no-JS "earlier messages"): live updates would not fit below it. */
  older: boolean;
  presence?: ShownPresence | null;
  /** How far the other side of a 1:1 has read, when both share read receipts. */
  seenSeq?: number | null;
  /** The viewer blocked the other side of this 1:1. */
  partnerBlocked?: boolean;
  members?: MembersForm;
}) {
  const { t } = ctx.locale;
  const me = ctx.user!.id;
  const name = threadName(thread, me);
  const partner = thread.kind === "direct" ? thread.participants.find((p) => p.id !== me) : undefined;
  const lastSeen = seenSeq === null ? undefined : [...messages].reverse().find((m) => m.sender.id === me && m.kind === "text" && m.seq <= seenSeq);
  return (
    <Layout ctx={ctx} title={name} page="chat">
      <main
        class="chat"
        id="chat"
        data-thread-id={String(thread.id)}
        data-kind={thread.kind}
        data-last-seq={String(older ? 0 : thread.lastSeq)}
        data-seen-seq={seenSeq === null ? "" : String(seenSeq)}
        data-partner-id={partner ? String(partner.id) : ""}
        data-live={older ? "false" : "true"}
      >
        <header class="chat-head">
          <a href="/messages" class="back" safe>
            {`← ${t.chat.back}`}
          </a>
          <h1>
            {thread.kind === "direct" ? (
              <span class="with" safe>
                {`${t.chat.with} `}
              </span>
            ) : (
              ""
            )}
            {partner ? (
              <a class="partner" href={`/u/${encodeURIComponent(partner.username)}`} safe>
                {name}
              </a>
            ) : (
              <span class="partner" safe>
                {name}
              </span>
            )}
          </h1>
          {thread.kind === "direct" ? <PresenceLine ctx={ctx} presence={presence} /> : ""}
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
          {thread.kind === "group" ? <Members ctx={ctx} thread={thread} form={members} /> : ""}
          {partner ? (
            <form method="post" action={partnerBlocked ? `/blocks/${encodeURIComponent(partner.username)}/delete` : "/blocks"} class="inline block-form">
              <CsrfField ctx={ctx} />
              <input type="hidden" name="username" value={partner.username} />
              <input type="hidden" name="back" value={`/chat/${thread.id}`} />
              <button type="submit" class="link danger" safe>
                {partnerBlocked ? t.people.unblock : t.people.block}
              </button>
            </form>
          ) : (
            ""
          )}
          <p id="status" class="status" role="status" aria-live="polite"></p>
        </header>
        {thread.status === "request" ? (
          <div class="banner" id="request-banner">
            <p safe>
              {fill(thread.kind === "direct" ? t.requests.banner : t.requests.groupBanner, {
                name: partner?.username ?? thread.participants.find((p) => p.id === thread.createdBy)?.username ?? "",
              })}
            </p>
            <RequestActions ctx={ctx} threadId={thread.id} direct={thread.kind === "direct"} />
          </div>
        ) : (
          ""
        )}
        {partnerBlocked && partner ? (
          <p class="banner" safe>
            {fill(t.people.blocked, { name: partner.username })}
          </p>
        ) : (
          ""
        )}
        <ol id="messages" class="messages">
          <MessagePage ctx={ctx} threadId={thread.id} messages={messages} seenSeq={lastSeen?.seq} />
        </ol>
        <p id="typing" class="typing" aria-live="polite" data-template={t.people.typing}></p>
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
