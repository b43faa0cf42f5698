// Group conversations: create, add, remove, leave, rename. Every change happens in one
// transaction with the system line that records it, taking the thread's next seq under its
// lock like any message; after the commit it is published like any message. So everyone sees
// the change at the same point of the log, and a removed member's connections are cut off at
// exactly that line (the fan-out sees it go by; see core.ts).
import type { Core } from "../core.ts";
import type { Sql } from "../db/client.ts";
import { blocks as bq, messages as mq, threads as q, users as uq } from "../db/queries.ts";
import { AppError, notFound } from "../errors.ts";
import { LIMITS } from "../auth/rate-limit.ts";
import type { SystemEvent, UserRef } from "../realtime/events.ts";
import { publishFeed } from "./feed.ts";
import { onCommitted, postMessage, checkClientId, checkText } from "./send.ts";
import { getThread, type Thread } from "./threads.ts";
import { toMessage, type WriteResult } from "./writer.ts";
import { USERNAME } from "./accounts.ts";

export const MAX_TITLE_CHARS = 100;
/** Members of one group, its creator included. */
export const MAX_GROUP_MEMBERS = 500;

/** A title as given (null when none was given at all; an empty one is a mistake). */
export function checkTitle(title: unknown, required: boolean): string | null {
  if ((title === undefined || title === null) && !required) return null;
  if (typeof title !== "string" || title.trim() === "" || title.includes("\u0000") || !title.isWellFormed()) {
    throw new AppError("invalid_title", "A group's title is 1–100 characters of text.", { field: "title" });
  }
  const trimmed = title.trim().replace(/\s+/g, " ");
  if ([...trimmed].length > MAX_TITLE_CHARS) throw new AppError("invalid_title", "A group's title is at most 100 characters.", { field: "title" });
  return trimmed;
}

/** People by name; every name must be someone, and nobody twice. */
async function resolve(core: Core, names: readonly string[]): Promise<UserRef[]> {
  const wanted = [...new Set(names.map((n) => n.trim()).filter((n) => n !== ""))];
  const bad = wanted.filter((n) => !USERNAME.test(n));
  const found = bad.length > 0 ? [] : await uq.findMany(core.db, wanted);
  const known = new Set(found.map((u) => u.username.toLowerCase()));
  const missing = wanted.filter((n) => !known.has(n.toLowerCase()));
  if (missing.length > 0) {
    throw new AppError("unknown_user", `There is nobody called ${missing.map((n) => `“${n}”`).join(", ")}.`, { field: "members" });
  }
  return found;
}

/** English words for a system line, for API clients; pages say it in the reader's language. */
export function systemText(actor: UserRef, event: SystemEvent): string {
  switch (event.type) {
    case "created":
      return `${actor.username} created the group “${event.title}”`;
    case "member_added":
      return `${actor.username} added ${event.member.username}`;
    case "member_removed":
      return `${actor.username} removed ${event.member.username}`;
    case "member_left":
      return `${actor.username} left`;
    case "renamed":
      return `${actor.username} renamed the group to “${event.title}”`;
  }
}

/** Appends a system line to a locked thread; the caller's transaction commits it. */
async function systemLine(tx: Sql, thread: { id: number; kind: "direct" | "group"; title: string | null; lastSeq: number }, actor: UserRef, event: SystemEvent): Promise<WriteResult> {
  const seq = thread.lastSeq + 1;
  const [row] = await mq.storeSystemLine(tx, thread.id, seq, actor.id, systemText(actor, event), JSON.stringify(event));
  const members = (await q.memberIds(tx, thread.id)).map((m) => m.userId);
  const title = event.type === "renamed" || event.type === "created" ? event.title : thread.title;
  return {
    message: toMessage(row!, actor),
    created: true,
    thread: { id: thread.id, kind: thread.kind, title, lastSeq: seq, lastMessageAt: row!.createdAt },
    members,
  };
}

/** A new group with a title (optional with two or more others) and its members, by name. */
export async function createGroup(
  core: Core,
  creator: UserRef,
  input: { title?: unknown; members: readonly string[]; text?: unknown; clientId?: unknown },
): Promise<{ thread: Thread; message?: Awaited<ReturnType<typeof postMessage>>["message"] }> {
  const title = checkTitle(input.title, false);
  if (input.text !== undefined) {
    checkText(input.text);
    checkClientId(input.clientId);
  }
  const others = (await resolve(core, input.members)).filter((u) => u.id !== creator.id);
  if (others.length === 0) throw new AppError("invalid_participants", "Name at least one other person for the group.", { field: "members" });
  if (others.length === 1 && title === null) {
    throw new AppError("invalid_title", "Give the group a title, or add another member (with one person, write to them directly).", { field: "title" });
  }
  if (others.length + 1 > MAX_GROUP_MEMBERS) {
    throw new AppError("invalid_participants", `A group has at most ${MAX_GROUP_MEMBERS} members.`, { field: "members" });
  }
  // Someone who blocked the creator cannot be put in a group by them; they are told, as when
  // adding, only that the person could not be added.
  const blockers = new Set((await bq.blockersAmong(core.db, creator.id, others.map((u) => u.id))).map((b) => b.blockerId));
  const refused = others.filter((u) => blockers.has(u.id));
  if (refused.length > 0) {
    throw new AppError("undeliverable", `${refused.map((u) => u.username).join(", ")} could not be added.`, { field: "members" });
  }
  const invited = others;
  await core.limits.check(LIMITS.conversationsPerPerson, creator.id);
  const result = await core.db.transaction(async (tx) => {
    const [created] = await q.insertGroup(tx, title, creator.id, invited.map((u) => u.id));
    const [locked] = await q.lock(tx, created!.id, creator.id);
    return systemLine(tx, locked!, creator, { type: "created", title: title ?? "" });
  });
  onCommitted(core, [result]);
  let message;
  if (input.text !== undefined) ({ message } = await postMessage(core, creator, { threadId: result.thread.id, text: input.text, clientId: input.clientId }));
  return { thread: await getThread(core, creator, result.thread.id), ...(message ? { message } : {}) };
}

/** Runs a change on a group the actor is in, under the thread's lock. */
async function change(core: Core, actor: UserRef, threadId: number, body: (tx: Sql, thread: NonNullable<Awaited<ReturnType<typeof q.lock>>[number]>) => Promise<WriteResult>): Promise<WriteResult> {
  const result = await core.db.transaction(async (tx) => {
    const [thread] = await q.lock(tx, threadId, actor.id);
    if (!thread) throw notFound();
    if (thread.kind !== "group") throw new AppError("not_allowed", "A conversation between two people has no members to change; start a group instead.");
    return body(tx, thread);
  });
  onCommitted(core, [result]);
  return result;
}

export async function addMember(core: Core, actor: UserRef, threadId: number, username: unknown): Promise<WriteResult> {
  const [member] = typeof username === "string" ? await resolve(core, [username]) : [];
  if (!member) throw new AppError("unknown_user", "Say whom to add.", { field: "username" });
  const blocked = await bq.between(core.db, actor.id, member.id);
  if (blocked.some((b) => b.blockerId === member.id)) throw new AppError("undeliverable", `${member.username} could not be added.`, { field: "username" });
  // Adding someone writes a line to every member and puts a conversation before the one
  // added (a request, from a stranger): it counts as both, or adding and removing in a loop
  // would be a way round both limits.
  await core.limits.check(LIMITS.messagesPerPerson, actor.id);
  await core.limits.check(LIMITS.conversationsPerPerson, actor.id);
  return change(core, actor, threadId, async (tx, thread) => {
    if ((await q.memberIds(tx, threadId)).length >= MAX_GROUP_MEMBERS) {
      throw new AppError("invalid_participants", `A group has at most ${MAX_GROUP_MEMBERS} members.`, { field: "username" });
    }
    if ((await q.addMember(tx, threadId, member.id, actor.id)).length === 0) {
      throw new AppError("invalid_participants", `${member.username} is in this conversation already.`, { field: "username" });
    }
    return systemLine(tx, thread, actor, { type: "member_added", member: { id: member.id, username: member.username } });
  });
}

/** The creator removes someone; anyone removing themselves is leaving. */
export async function removeMember(core: Core, actor: UserRef, threadId: number, username: string): Promise<WriteResult> {
  const [member] = await resolve(core, [username]).catch(() => [] as UserRef[]);
  if (!member) throw notFound();
  const leaving = member.id === actor.id;
  // Removing someone is a line to every member, like a message; leaving is never refused.
  if (!leaving) await core.limits.check(LIMITS.messagesPerPerson, actor.id);
  const result = await change(core, actor, threadId, async (tx, thread) => {
    if (!leaving && thread.createdBy !== actor.id) throw new AppError("not_allowed", "Only the group's creator can remove members.");
    if ((await q.removeMember(tx, threadId, member.id)).length === 0) throw notFound();
    if (leaving) await q.handOver(tx, threadId, actor.id);
    return systemLine(tx, thread, actor, leaving ? { type: "member_left" } : { type: "member_removed", member: { id: member.id, username: member.username } });
  });
  publishFeed(core, [member.id], { kind: "removed", thread: result.thread });
  return result;
}

export async function renameGroup(core: Core, actor: UserRef, threadId: number, title: unknown): Promise<WriteResult> {
  const clean = checkTitle(title, true)!;
  // A rename is a line to every member, like a message.
  await core.limits.check(LIMITS.messagesPerPerson, actor.id);
  return change(core, actor, threadId, async (tx, thread) => {
    if (thread.createdBy !== actor.id) throw new AppError("not_allowed", "Only the group's creator can rename it.");
    await q.rename(tx, threadId, clean);
    return systemLine(tx, thread, actor, { type: "renamed", title: clean });
  });
}
