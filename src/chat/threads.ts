// Conversations: the list, one thread, starting a 1:1, reading history, marking read.
// Every lookup is made as the person asking: a thread they are not in is "not found".
import type { Core } from "../core.ts";
import type { Db } from "../db/client.ts";
import { blocks as bq, messages as mq, threads as q, type MemberStatus, type ThreadRow } from "../db/queries.ts";
import { AppError, notFound } from "../errors.ts";
import { LIMITS } from "../auth/rate-limit.ts";
import type { Message, SystemEvent, ThreadHead, UserRef } from "../realtime/events.ts";
import { topics } from "../realtime/topics.ts";
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
  /** Who made it: in a group, the one who may rename it and remove members. */
  createdBy: number | null;
  /** This person's standing: "request" until they accept a stranger's first message. */
  status: MemberStatus;
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
  lastMessage: { text: string; senderId: number; kind: "text" | "system"; event: SystemEvent | null } | null;
}

/** The thread as API clients and feeds see it (the page-only fields stay out). */
export function apiThread(thread: Thread) {
  const { id, kind, title, createdBy, status, participants, lastMessageAt, lastSeq, total, sent, received, unread } = thread;
  return { id, kind, title, createdBy, status, participants, lastMessageAt, lastSeq, total, sent, received, unread };
}

async function withCounts(core: Core, viewer: UserRef, rows: ThreadRow[]): Promise<Thread[]> {
  const counts = await countsFor(core.db, core.counters, viewer.id, rows);
  return rows.map((row) => {
    const c = counts.get(row.id) ?? { total: 0, sent: 0, received: 0 };
    return {
      id: row.id,
      kind: row.kind,
      title: row.title,
      createdBy: row.createdBy,
      status: row.status,
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
      lastMessage:
        row.lastText === null || row.lastSenderId === null
          ? null
          : { text: row.lastText, senderId: row.lastSenderId, kind: row.lastKind ?? "text", event: row.lastEvent },
    };
  });
}

export interface ThreadPage {
  threads: Thread[];
  /** Where the next page starts, or null on the last one. */
  nextOffset: number | null;
}

/**
 * A person's conversations, most recent activity first, a page at a time: the list
 * (status "active") or their message requests ("request").
 */
export async function listThreads(
  core: Core,
  viewer: UserRef,
  page: { offset?: number; limit?: number; status?: MemberStatus } = {},
): Promise<ThreadPage> {
  const offset = page.offset ?? 0;
  const limit = Math.min(page.limit ?? LIST_PAGE, LIST_PAGE);
  const rows = await q.forMember(core.db, viewer.id, null, limit + 1, offset, null, page.status ?? "active");
  const threads = await withCounts(core, viewer, rows.slice(0, limit));
  return { threads, nextOffset: rows.length > limit ? offset + limit : null };
}

/** Every conversation of a person that changed after a time (see chat/feed.ts). */
export async function threadsChangedSince(core: Core, viewer: UserRef, since: Date): Promise<Thread[]> {
  return withCounts(core, viewer, await q.forMember(core.db, viewer.id, null, MAX_CHANGED, 0, since.toISOString(), null));
}

export async function getThread(core: Core, viewer: UserRef, threadId: number): Promise<Thread> {
  const rows = await q.forMember(core.db, viewer.id, threadId, 1, 0, null, null);
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
  const blocked = await bq.between(core.db, viewer.id, partner.id);
  if (blocked.some((b) => b.blockerId === viewer.id)) {
    throw new AppError("not_allowed", "You blocked this person. Unblock them in your settings to write to them.", { field: "to" });
  }
  // Blocked by them: said only as "could not be delivered", never why.
  if (blocked.length > 0) throw new AppError("undeliverable", "The message could not be delivered.", { field: "to" });
  const [low, high] = viewer.id < partner.id ? [viewer.id, partner.id] : [partner.id, viewer.id];
  const key = `${low}:${high}`;
  // Only starting a new conversation counts against the limit, not opening one that exists.
  if ((await q.findDirect(core.db, key)).length === 0) await core.limits.check(LIMITS.conversationsPerPerson, viewer.id);
  const [inserted] = await q.insertDirect(core.db, key, viewer.id, partner.id);
  // No row: the pair has a thread already (perhaps made by the other side a moment ago). If
  // this person had declined it (and so left), writing again brings them back into it.
  const id = inserted?.id ?? (await q.findDirect(core.db, key))[0]?.id;
  if (id === undefined) throw new AppError("internal", "The conversation could not be started.");
  if (!inserted) await q.rejoinSelf(core.db, id, viewer.id);
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

/**
 * A page of history in ascending seq: before a seq, after a seq, or the latest. The messages
 * of people the viewer blocked are left out (so the seqs a viewer sees may skip).
 */
export async function history(core: Core, viewer: UserRef, threadId: number, page: PageQuery = {}): Promise<Message[]> {
  await assertMember(core, viewer, threadId);
  return messagesOf(core.db, threadId, { ...page, limit: Math.min(page.limit ?? PAGE_SIZE, MAX_PAGE_SIZE) }, viewer.id);
}

/**
 * History without the membership check, for callers that have just made it. The limit is
 * taken as given: resumes and gap fills read more than a page and must not be cut short.
 * With a viewer, the messages of people they blocked are left out.
 */
export async function messagesOf(db: Db, threadId: number, page: PageQuery, viewerId: number | null = null): Promise<Message[]> {
  const limit = page.limit ?? PAGE_SIZE;
  const rows =
    page.after !== undefined
      ? await mq.pageAfter(db, threadId, page.after, limit, viewerId)
      : (await mq.pageBefore(db, threadId, page.before ?? MAX_SEQ, limit, viewerId)).reverse();
  return rows.map((row) => ({
    id: row.id,
    threadId: row.threadId,
    seq: row.seq,
    sender: { id: row.senderId, username: row.senderName },
    text: row.text,
    createdAt: row.createdAt,
    clientId: row.clientId,
    kind: row.kind,
    event: row.event,
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
    // One light query, not the whole thread: every reader of a busy group does this per message.
    const [state] = await q.readState(core.db, threadId, viewer.id);
    if (state) {
      const { readSeq, unread, receipts, ...thread } = state;
      publishFeed(core, [viewer.id], { kind: "read", thread, readSeq, unread });
      // A read receipt for the other side of a 1:1, when both of them share theirs.
      if (receipts) core.bus.publish(topics.thread(threadId), { type: "receipt", threadId, userId: viewer.id, readSeq });
    }
  }
  return row.readSeq;
}

/** How far the other side of a 1:1 has read, when both share read receipts; else null. */
export async function partnerReadSeq(core: Core, viewer: UserRef, threadId: number): Promise<number | null> {
  // The receipt is found only through the viewer's own membership; without one, say whether
  // that is because there is none to show or because this is not their conversation.
  const [row] = await q.receipts(core.db, threadId, viewer.id);
  if (row) return row.readSeq;
  await assertMember(core, viewer, threadId);
  return null;
}

/** A message request accepted: the conversation joins the person's list. */
export async function acceptRequest(core: Core, viewer: UserRef, threadId: number): Promise<Thread> {
  await assertMember(core, viewer, threadId);
  await q.accept(core.db, threadId, viewer.id);
  const thread = await getThread(core, viewer, threadId);
  publishFeed(core, [viewer.id], { kind: "thread", thread: apiThread(thread) });
  return thread;
}
