// What travels on the bus, and what clients receive. One definition, used by the WebSocket,
// SSE and the pages alike.

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

/** What every member of a thread may know about its state, whoever they are. */
export interface ThreadHead {
  id: number;
  kind: "direct" | "group";
  title: string | null;
  lastSeq: number;
  lastMessageAt: string | null;
}

/**
 * A change in one person's conversation list, on their feed (topic user:<id>). A feed event
 * is a state update: clients upsert the thread by id, so seeing one twice is harmless.
 * `cursor` is where a resume should start from to see everything after this event.
 */
export type FeedChange =
  | { kind: "message"; thread: ThreadHead; message: Message }
  | { kind: "thread"; thread: ThreadHead }
  | { kind: "read"; thread: ThreadHead; readSeq: number; unread: number };

export type BusEvent =
  /** On thread:<id>: a stored message, in seq order. */
  | { type: "message"; message: Message }
  /** On user:<id>: a change in that person's list. */
  | { type: "feed"; userId: number; cursor: string; change: FeedChange }
  /** On control: sessions ended (logout); every instance closes their live connections. */
  | { type: "revoke"; userId: number; sessionId: string | null };

/** The position of an event in its thread's log, for those that have one. */
export function seqOf(event: BusEvent): number | null {
  return event.type === "message" ? event.message.seq : null;
}
