// A person's feed: what changes in their conversation list (a new conversation, a new
// message in any of them, their read marker moving on another device), live on topic
// user:<id>, and resumable from a cursor.
//
// Feed events are state, not history: each carries the thread's new state, and clients
// upsert it by id. So a resume does not replay every event; it sends the current state of
// each thread that changed after the cursor. The cursor is a time: a message's createdAt is
// its transaction's start, which can be a little before another message that committed
// first, so a resume looks back OVERLAP_MS further. Seeing a thread's state twice is harmless.
import type { Core } from "../core.ts";
import { AppError } from "../errors.ts";
import type { FeedChange, ThreadHead, UserRef } from "../realtime/events.ts";
import { threads as tq } from "../db/queries.ts";
import { topics } from "../realtime/topics.ts";
import { getThread, threadsChangedSince, type Thread } from "./threads.ts";

/** Longer than any send transaction lives (idle_in_transaction_session_timeout is 60 s). */
const OVERLAP_MS = 120_000;

export function feedCursor(at: Date = new Date()): string {
  return at.toISOString();
}

/**
 * The times a cursor may name: years 0000 to 9999. Date.parse takes years far past either end
 * (±271821), where looking back OVERLAP_MS leaves what a Date can hold, and PostgreSQL's
 * timestamps stop at 4713 BC; no cursor this server gave is anywhere near them.
 */
const CURSOR_MIN_MS = Date.parse("0000-01-01T00:00:00Z");
const CURSOR_MAX_MS = Date.parse("9999-12-31T23:59:59.999Z");

/** A cursor from a client: an ISO time this server handed out. */
export function parseCursor(raw: unknown): number | null {
  if (raw === undefined || raw === null || raw === "") return null;
  const ms = typeof raw === "string" && raw.length <= 40 ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms) || ms < CURSOR_MIN_MS || ms > CURSOR_MAX_MS) {
    throw new AppError("bad_request", "after must be a cursor this server gave (an ISO 8601 time).");
  }
  return ms;
}

/** When a thread last changed for this person. */
function changedAt(thread: Thread): number {
  return Math.max(Date.parse(thread.lastMessageAt ?? "") || 0, Date.parse(thread.readAt ?? "") || 0, Date.parse(thread.joinedAt) || 0);
}

/**
 * What changed in this person's list after the cursor: the state of every conversation in it
 * that changed (a message, a read, a join, or coming back to it: accepted, unblocked), oldest
 * change first; and the conversations that left it without a message (left, removed,
 * declined, blocked: see migration 7), to be sent as `removed`.
 */
export async function changedSince(core: Core, viewer: UserRef, since: number): Promise<{ threads: Thread[]; removed: ThreadHead[] }> {
  const after = new Date(since - OVERLAP_MS);
  const [threads, changes] = await Promise.all([threadsChangedSince(core, viewer, after), tq.listChanges(core.db, viewer.id, after.toISOString())]);
  const seen = new Set(threads.map((t) => t.id));
  const back = await Promise.all(
    changes.filter((c) => c.listed && !seen.has(c.id)).map((c) => getThread(core, viewer, c.id).catch(() => null)), // gone again since: the next resume says so
  );
  const removed = changes.filter((c) => !c.listed).map(({ listed: _, ...head }) => head);
  return { threads: [...threads, ...back.filter((t) => t !== null)].sort((a, b) => changedAt(a) - changedAt(b)), removed };
}

/**
 * One event object for every member: each layer below serializes and renders it once, however
 * many feeds it goes to (a message in a group of 500 is one event, not 500).
 */
export function publishFeed(core: Core, userIds: readonly number[], change: FeedChange, cursor: string = feedCursor()): void {
  const event = { type: "feed", cursor, change } as const;
  for (const userId of userIds) core.bus.publish(topics.user(userId), event);
}
