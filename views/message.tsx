import type { Message, SystemEvent } from "../src/realtime/events.ts";
import { fill, LANGS } from "../src/i18n/index.ts";

/** A system line in one language: who did what, as plain text. */
export function systemText(lang: keyof typeof LANGS, actor: string, event: SystemEvent): string {
  const t = LANGS[lang].system;
  switch (event.type) {
    case "created":
      return event.title ? fill(t.created, { actor, title: event.title }) : fill(t.createdUntitled, { actor });
    case "member_added":
      return fill(t.member_added, { actor, member: event.member.username });
    case "member_removed":
      return fill(t.member_removed, { actor, member: event.member.username });
    case "member_left":
      return fill(t.member_left, { actor });
    case "renamed":
      return fill(t.renamed, { actor, title: event.title });
  }
}

/**
 * One message. The same markup is the page's list item, the "earlier messages" fragment and
 * the live broadcast; a broadcast is rendered once for every viewer, so it carries the
 * sender as data-sender and the page script marks the viewer's own (pages mark them here).
 * The time is UTC until the page script shows it in the reader's own zone and language; a
 * system line is written in every language, and the stylesheet shows the page's.
 */
export function MessageItem({ message, viewerId, time, seen }: { message: Message; viewerId?: number; time?: string; seen?: string }) {
  const when = (
    <time datetime={message.createdAt} safe>
      {time ?? message.createdAt.slice(11, 16) + " UTC"}
    </time>
  );
  if (message.kind === "system" && message.event) {
    const event = message.event;
    return (
      <li class="msg system" id={`m-${message.seq}`} data-seq={String(message.seq)} data-sender={String(message.sender.id)} data-kind="system">
        {Object.keys(LANGS).map((lang) => (
          <span class="line" lang={lang} safe>
            {systemText(lang as keyof typeof LANGS, message.sender.username, event)}
          </span>
        ))}{" "}
        {when}
      </li>
    );
  }
  const mine = viewerId !== undefined && message.sender.id === viewerId;
  return (
    <li
      class={mine ? "msg mine" : "msg"}
      id={`m-${message.seq}`}
      data-seq={String(message.seq)}
      data-sender={String(message.sender.id)}
      data-client-id={message.clientId ?? ""}
      data-seen={seen}
    >
      <div class="meta">
        <span class="who" safe>
          {message.sender.username}
        </span>
        {when}
      </div>
      <div class="text" safe>
        {message.text}
      </div>
    </li>
  );
}
