// What travels on the bus, and the frames clients receive. One definition, used by the
// WebSocket, SSE and the pages alike.

export interface UserRef {
  id: number;
  username: string;
}

/** A message as every client sees it (the JSON API's shape). */
export interface Message {
  id: number;
  threadId: number;
  seq: number;
  sender: UserRef;
  text: string;
  createdAt: string;
  clientId: string | null;
}

export type BusEvent = { type: "message"; message: Message };

/** The position of an event in its thread's log, for those that have one. */
export function seqOf(event: BusEvent): number | null {
  return event.type === "message" ? event.message.seq : null;
}
