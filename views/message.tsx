import type { Message } from "../src/realtime/events.ts";

/**
 * One message. The same markup is the page's list item, the "earlier messages" fragment and
 * the live broadcast; a broadcast is rendered once for every viewer, so it carries the
 * sender as data-sender and the page script marks the viewer's own (pages mark them here).
 * The time is UTC until the page script shows it in the reader's own zone and language.
 */
export function MessageItem({ message, viewerId, time }: { message: Message; viewerId?: number; time?: string }) {
  const mine = viewerId !== undefined && message.sender.id === viewerId;
  return (
    <li
      class={mine ? "msg mine" : "msg"}
      id={`m-${message.seq}`}
      data-seq={String(message.seq)}
      data-sender={String(message.sender.id)}
      data-client-id={message.clientId ?? ""}
    >
      <div class="meta">
        <span class="who" safe>
          {message.sender.username}
        </span>
        <time datetime={message.createdAt} safe>{time ?? message.createdAt.slice(11, 16) + " UTC"}</time>
      </div>
      <div class="text" safe>
        {message.text}
      </div>
    </li>
  );
}
