// How an event looks on each transport. The fan-out calls these at most once per event per
// instance and hands the same string to every listener.
import { MessageItem } from "../../views/message.tsx";
import type { BusEvent } from "./events.ts";
import type { Renderers } from "./fanout.ts";

export const renderers: Renderers = {
  json: (event) => JSON.stringify(event),
  html: (event) => {
    const m = event.message;
    return JSON.stringify({
      type: "message",
      threadId: m.threadId,
      seq: m.seq,
      senderId: m.sender.id,
      clientId: m.clientId,
      html: MessageItem({ message: m }) as string,
    });
  },
  // JSON has no raw CR or LF, so nothing in a message can end an SSE field early.
  sse: (event) => `id: ${event.message.seq}\nevent: message\ndata: ${JSON.stringify(event.message)}\n\n`,
};

export type { BusEvent };
