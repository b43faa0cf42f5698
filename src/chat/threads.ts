// Conversations: the list, one thread, starting a 1:1, reading history, marking read.
// Every lookup is made as the person asking: a thread they are not in is "not found".
import type { Core } from "../core.ts";
import type { Db } from "../db/client.ts";
import { messages as mq, threads as q, type ThreadRow } from "../db/queries.ts";
import { AppError, notFound } from "../errors.ts";
import type { Message, ThreadHead, UserRef } from "../realtime/events.ts";
import { publishFeed } from "./feed.ts";
import { findUser } from "./accounts.ts";
import { countsFor } from "./counters.ts";

export const PAGE_SIZE = 50;
/** Seqs are PostgreSQL integers. */
export const MAX_SEQ = 2 ** 31 - 1;
export const MAX_PAGE_SIZE = 200;
/** Conversations per page of the list. */
export const LIST_PAGE = 100;
/** A feed resume sends at most this many changed conversations; past it, clients reload the list. */
export const MAX_CHANGED = 500;

export interface Thread {
  id: number;
  kind: "direct" | "group";
  title: string | null;
  participants: UserRef[];
  lastMessageAt: string | null;
  lastSeq: number;
  total: number;
  sent: number;
  received: number;
  unread: number;
  readSeq: number;
  readAt: string | null;
  joinedAt: string;
  lastMessage: { text: string; senderId: number } | null;
}

/** The thread as API clients and feeds see it (the page-only fields stay out). */
export function apiThread(thread: Thread) {
  const { id, kind, title, participants, lastMessageAt, lastSeq, total, sent, received, unread } = thread;
  return { id, kind, title, participants, lastMessageAt, lastSeq, total, sent, received, unread };
}

async function withCounts(core: Core, viewer: UserRef, rows: ThreadRow[]): Promise<Thread[]> {
  const counts = await countsFor(core.db, core.counters, viewer.id, rows);
  return rows.map((row) => {
    const c = counts.get(row.id) ?? { total: 0, sent: 0, received: 0 };
    return {
      id: row.id,
      kind: row.kind,
      title: row.title,
      participants: row.participants,
      lastMessageAt: row.lastMessageAt,
      lastSeq: row.lastSeq,
      total: c.total,
      sent: c.sent,
      received: c.received,
      unread: row.unread,
      readSeq: row.readSeq,
      readAt: row.readAt,
      joinedAt: row.joinedAt,
      lastMessage: row.lastText === null || row.lastSenderId === null ? null : { text: row.lastText, senderId: row.lastSenderId },
    };
  });
}

export interface ThreadPage {
  threads: Thread[];
  /** Where the next page starts, or null on the last one. */
  nextOffset: number | null;
}

/** A person's conversations, most recent activity first, a page at a time. */
export async function listThreads(core: Core, viewer: UserRef, page: { offset?: number; limit?: number } = {}): Promise<ThreadPage> {
  const offset = page.offset ?? 0;
  const limit = Math.min(page.limit ?? LIST_PAGE, LIST_PAGE);
  const rows = await q.forMember(core.db, viewer.id, null, limit + 1, offset, null);
  const threads = await withCounts(core, viewer, rows.slice(0, limit));
  return { threads, nextOffset: rows.length > limit ? offset + limit : null };
}

/** Every conversation of a person that changed after a time (see chat/feed.ts). */
export async function threadsChangedSince(core: Core, viewer: UserRef, since: Date): Promise<Thread[]> {
  return withCounts(core, viewer, await q.forMember(core.db, viewer.id, null, MAX_CHANGED, 0, since.toISOString()));
}

export async function getThread(core: Core, viewer: UserRef, threadId: number): Promise<Thread> {
  const rows = await q.forMember(core.db, viewer.id, threadId, 1, 0, null);
  if (rows.length === 0) throw notFound();
  return (await withCounts(core, viewer, rows))[0]!;
}

export async function assertMember(core: Core, viewer: UserRef, threadId: number): Promise<void> {
  if ((await q.isMember(core.db, threadId, viewer.id)).length === 0) throw notFound();
}

/** The 1:1 conversation of two people: the existing one, or a new one. */
export async function openDirect(core: Core, viewer: UserRef, username: unknown): Promise<{ thread: Thread; created: boolean }> {
  if (typeof username !== "string" || username.trim() === "") {
    throw new AppError("unknown_user", "Say who the message is for.", { field: "to" });
  }
  const partner = await findUser(core.db, username.trim());
  if (!partner) throw new AppError("unknown_user", `There is nobody called “${username.trim()}”.`, { field: "to" });
  if (partner.id === viewer.id) {
    throw new AppError("invalid_participants", "You cannot start a conversation with yourself.", { field: "to" });
  }
  const [low, high] = viewer.id < partner.id ? [viewer.id, partner.id] : [partner.id, viewer.id];
  const key = `${low}:${high}`;
  const [inserted] = await q.insertDirect(core.db, key, viewer.id, [low, high]);
  // No row: the pair has a thread already (perhaps made by the other side a moment ago).
  const id = inserted?.id ?? (await q.findDirect(core.db, key))[0]?.id;
  if (id === undefined) throw new AppError("internal", "The conversation could not be started.");
  const thread = await getThread(core, viewer, id);
  if (inserted) publishFeed(core, [low, high], { kind: "thread", thread: head(thread) });
  return { thread, created: inserted !== undefined };
}

export function head(thread: Thread): ThreadHead {
  return { id: thread.id, kind: thread.kind, title: thread.title, lastSeq: thread.lastSeq, lastMessageAt: thread.lastMessageAt };
}

export interface PageQuery {
  before?: number;
  after?: number;
  limit?: number;
}

/** A page of history in ascending seq: before a seq, after a seq, or the latest. */
export async function history(core: Core, viewer: UserRef, threadId: number, page: PageQuery = {}): Promise<Message[]> {
  await assertMember(core, viewer, threadId);
  return messagesOf(core.db, threadId, { ...page, limit: Math.min(page.limit ?? PAGE_SIZE, MAX_PAGE_SIZE) });
}

/**
 * History without the membership check, for callers that have just made it. The limit is
 * taken as given: resumes and gap fills read more than a page and must not be cut short.
 */
export async function messagesOf(db: Db, threadId: number, page: PageQuery): Promise<Message[]> {
  const limit = page.limit ?? PAGE_SIZE;
  const rows =
    page.after !== undefined
      ? await mq.pageAfter(db, threadId, page.after, limit)
      : (await mq.pageBefore(db, threadId, page.before ?? MAX_SEQ, limit)).reverse();
  return rows.map((row) => ({
    id: row.id,
    threadId: row.threadId,
    seq: row.seq,
    sender: { id: row.senderId, username: row.senderName },
    text: row.text,
    createdAt: row.createdAt,
    clientId: row.clientId,
  }));
}

/**
 * Moves the reader's marker forward (never back); returns the marker in force. When it moved,
 * the reader's other tabs and devices hear of it on their feed, with the unread count.
 */
export async function markRead(core: Core, viewer: UserRef, threadId: number, seq: number): Promise<number> {
  const [row] = await q.markRead(core.db, threadId, viewer.id, seq);
  if (!row) throw notFound();
  if (row.readSeq > row.previousReadSeq) {
    const thread = await getThread(core, viewer, threadId);
    publishFeed(core, [viewer.id], { kind: "read", thread: head(thread), readSeq: thread.readSeq, unread: thread.unread });
  }
  return row.readSeq;
}
