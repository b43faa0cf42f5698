// What travels on the bus, and what clients receive. One definition, used by the WebSocket,
// SSE and the pages alike.

export interface UserRef {
  id: number;
  username: string;
}

/**
 * What a system line says, as data: pages put it into words in each reader's language, and
 * `text` carries it in English for API clients (see sql/migrations/0003_groups_blocks.sql).
 */
export type SystemEvent =
  | { type: "created"; title: string }
  | { type: "member_added"; member: UserRef }
  | { type: "member_removed"; member: UserRef }
  | { type: "member_left" }
  | { type: "renamed"; title: string };

/** A message as every client sees it (the JSON API's shape). `sender` of a system line is who acted. */
export interface Message {
  id: number;
  threadId: number;
  seq: number;
  sender: UserRef;
  text: string;
  createdAt: string;
  clientId: string | null;
  kind: "text" | "system";
  event: SystemEvent | null;
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
  | { kind: "read"; thread: ThreadHead; readSeq: number; unread: number }
  /** They left it, were removed, declined it, or blocked the other side: it leaves their list. */
  | { kind: "removed"; thread: ThreadHead }
  /** Someone they talk to came online or went (never someone who hides their presence). */
  | { kind: "presence"; userId: number; online: boolean; lastSeen: string | null };

export type BusEvent =
  /** On thread:<id>: a stored message, in seq order. */
  | { type: "message"; message: Message }
  /** On user:<id>: a change in that person's list (whose, the topic says). */
  | { type: "feed"; cursor: string; change: FeedChange }
  /** On thread:<id> of a 1:1: how far a member has read (both of them share receipts). */
  | { type: "receipt"; threadId: number; userId: number; readSeq: number }
  /** On thread:<id>: someone is typing. Never stored. */
  | { type: "typing"; threadId: number; user: UserRef }
  /** On control: sessions ended (logout); every instance closes their live connections. */
  | { type: "revoke"; userId: number; sessionId: string | null }
  /** On control: whom this person blocked changed; their live connections reload it. */
  | { type: "blocks"; userId: number }
  /** On control: this person left a 1:1 (declined it); their live connections stop following it. */
  | { type: "left"; userId: number; threadId: number };

/** The position of an event in its thread's log, for those that have one. */
export function seqOf(event: BusEvent): number | null {
  return event.type === "message" ? event.message.seq : null;
}
