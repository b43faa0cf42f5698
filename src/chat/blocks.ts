// Blocking. Someone blocked cannot start a conversation with the blocker or write into their
// 1:1 (they are told only that it could not be delivered); the 1:1 leaves the blocker's list;
// in groups both stay members and the blocker no longer sees the other's messages, in pages,
// history, resumes and live. Unblocking undoes all of it (nothing that was hidden was lost).
import type { Core } from "../core.ts";
import { blocks as q, threads as tq, type UserRow } from "../db/queries.ts";
import { AppError } from "../errors.ts";
import type { UserRef } from "../realtime/events.ts";
import { topics } from "../realtime/topics.ts";
import { findUser } from "./accounts.ts";
import { publishFeed } from "./feed.ts";
import { apiThread, getThread } from "./threads.ts";
import { removeMember } from "./groups.ts";

async function other(core: Core, me: UserRef, username: unknown): Promise<UserRef> {
  const user = typeof username === "string" ? await findUser(core.db, username.trim()) : null;
  if (!user) throw new AppError("unknown_user", "There is nobody with that username.", { field: "username" });
  if (user.id === me.id) throw new AppError("invalid_participants", "You cannot block yourself.", { field: "username" });
  return user;
}

/** The 1:1 of the two, if there is one and `me` is in it. */
async function directThread(core: Core, me: UserRef, them: UserRef): Promise<number | null> {
  const key = me.id < them.id ? `${me.id}:${them.id}` : `${them.id}:${me.id}`;
  const [row] = await tq.directWith(core.db, key, me.id);
  return row?.member ? row.id : null;
}

/** Every instance reloads what this person's live connections must leave out. */
function announce(core: Core, me: UserRef): void {
  core.bus.publish(topics.control, { type: "blocks", userId: me.id });
}

export async function block(core: Core, me: UserRef, username: unknown): Promise<UserRef> {
  const them = await other(core, me, username);
  await q.insert(core.db, me.id, them.id);
  announce(core, me);
  const threadId = await directThread(core, me, them);
  if (threadId !== null) {
    const thread = await getThread(core, me, threadId);
    publishFeed(core, [me.id], { kind: "removed", thread: apiThread(thread) });
  }
  return them;
}

export async function unblock(core: Core, me: UserRef, username: unknown): Promise<UserRef> {
  const them = await other(core, me, username);
  await q.delete(core.db, me.id, them.id);
  announce(core, me);
  const threadId = await directThread(core, me, them);
  if (threadId !== null) publishFeed(core, [me.id], { kind: "thread", thread: apiThread(await getThread(core, me, threadId)) });
  return them;
}

export function blockedBy(core: Core, me: UserRef): Promise<UserRow[]> {
  return q.list(core.db, me.id);
}

/** Most people block nobody: they all share this one (every open socket holds its person's set). */
const NOBODY: ReadonlySet<number> = new Set();

export async function blockedIds(core: Core, userId: number): Promise<ReadonlySet<number>> {
  const rows = await q.blockedIds(core.db, userId);
  return rows.length === 0 ? NOBODY : new Set(rows.map((r) => r.blockedId));
}

/**
 * Declining a message request: the person leaves the conversation (it is gone from their
 * Requests); with `alsoBlock`, the sender is blocked too. If they write again without being
 * blocked, it comes back as a new request.
 */
export async function declineRequest(core: Core, me: UserRef, threadId: number, alsoBlock: boolean): Promise<void> {
  const thread = await getThread(core, me, threadId);
  if (thread.status !== "request") throw new AppError("not_allowed", "That conversation is not a message request.");
  // Whom to block: the other side of a 1:1, or whoever put them in the group.
  const senderId = thread.kind === "direct" ? thread.participants.find((p) => p.id !== me.id)?.id : (await tq.addedBy(core.db, threadId, me.id))[0]?.userId;
  const sender = thread.participants.find((p) => p.id === senderId);
  if (alsoBlock && sender) await block(core, me, sender.username);
  if (thread.kind === "group") {
    // Leaving a group is a membership change like any other: a line in it, and every live
    // connection of theirs cut at that line.
    await removeMember(core, me, threadId, me.username);
    return;
  }
  // A 1:1 has no system lines: declining it is only leaving it.
  await tq.removeMember(core.db, threadId, me.id);
  core.bus.publish(topics.control, { type: "left", userId: me.id, threadId });
  publishFeed(core, [me.id], { kind: "removed", thread: apiThread(thread) });
}
