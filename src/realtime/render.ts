// How an event looks on each transport. The fan-out calls this at most once per event and
// rendering per instance, and hands the same string to every listener.
import { MessageItem } from "../../views/message.tsx";
import type { BusEvent, FeedChange, Message } from "./events.ts";

/** Transport × audience: API clients get JSON, pages get messages rendered as HTML. */
export type Rendering = "ws-json" | "ws-html" | "sse-json" | "sse-html";

/** The frame a page receives for a message: its HTML plus what the page script needs. */
export function pageFrame(message: Message): string {
  return JSON.stringify({
    type: "message",
    threadId: message.threadId,
    seq: message.seq,
    senderId: message.sender.id,
    clientId: message.clientId,
    kind: message.kind,
    html: MessageItem({ message }) as string,
  });
}

/** The feed frame; the same for pages, which fetch the list item they need. */
export function feedFrame(cursor: string, change: FeedChange): string {
  const { kind, ...rest } = change;
  return JSON.stringify({ type: "feed", change: kind, cursor, ...rest });
}

// JSON has no raw CR or LF, so nothing inside an event can end an SSE field early; ids are
// numbers or server-made timestamps.
const sseRecord = (id: string | number, event: string, data: string) => `id: ${id}\nevent: ${event}\ndata: ${data}\n\n`;

export function render(event: BusEvent, rendering: Rendering): string {
  if (event.type === "message") {
    const m = event.message;
    switch (rendering) {
      case "ws-json":
        return JSON.stringify(event);
      case "ws-html":
        return pageFrame(m);
      case "sse-json":
        return sseRecord(m.seq, "message", JSON.stringify(m));
      case "sse-html":
        return sseRecord(m.seq, "message", pageFrame(m));
    }
  }
  if (event.type === "feed") {
    const frame = feedFrame(event.cursor, event.change);
    return rendering.startsWith("sse") ? sseRecord(event.cursor, "feed", frame) : frame;
  }
  if (event.type === "receipt" || event.type === "typing") {
    // Not part of the log: no id, so a resume does not skip to them.
    const frame = JSON.stringify(event);
    return rendering.startsWith("sse") ? `event: ${event.type}\ndata: ${frame}\n\n` : frame;
  }
  return ""; // instance-to-instance only (control): never sent to a client
}
