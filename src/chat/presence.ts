// Who is online, for the people they talk to. The store (realtime/presence.ts) says when a
// person comes online or goes; this tells their contacts, on their feeds, unless the person
// hides their presence. Contacts are everyone they share a conversation with, not across a
// block in either direction.
import type { Core } from "../core.ts";
import { users as uq } from "../db/queries.ts";
import type { UserRef } from "../realtime/events.ts";
import type { PresenceStatus } from "../realtime/presence.ts";
import { publishFeed } from "./feed.ts";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

interface Announcement {
  userId: number;
  online: boolean;
  lastSeen: number | null;
  done(): void;
  failed(err: unknown): void;
}

/** Announcements waiting for the end of this turn of the event loop, per core. */
const waiting = new WeakMap<Core, Announcement[]>();

/**
 * Tells a person's contacts that they came online or went; nothing if they hide it. The
 * announcements of one turn of the event loop go together, one statement finding everyone's
 * contacts: when many people go at once (an instance's sockets closing in a network blip or a
 * deploy, their grace periods running out together), two statements a person made a thousand
 * people cost an instance 250–280 ms of CPU, and one statement for all 150–180
 * (bench/RESULTS.md, section 14).
 */
export function announcePresence(core: Core, userId: number, online: boolean, lastSeen: number | null): Promise<void> {
  return new Promise((done, failed) => {
    let batch = waiting.get(core);
    if (!batch) {
      waiting.set(core, (batch = []));
      setImmediate(() => {
        waiting.delete(core);
        announceAll(core, batch!).catch((err: Error) => core.log.warn(`presence: ${err.message}`));
      });
    }
    batch.push({ userId, online, lastSeen, done, failed });
  });
}

async function announceAll(core: Core, batch: Announcement[]): Promise<void> {
  let rows: { of: number; userId: number }[];
  try {
    rows = await uq.contacts(core.db, [...new Set(batch.map((a) => a.userId))], true);
  } catch (err) {
    for (const a of batch) a.failed(err);
    return;
  }
  const contacts = new Map<number, number[]>();
  for (const { of, userId } of rows) {
    const list = contacts.get(of);
    if (list) list.push(userId);
    else contacts.set(of, [userId]);
  }
  // In the order they were announced: someone who left and came back in one turn ends online.
  for (const a of batch) {
    try {
      const audience = contacts.get(a.userId);
      if (audience) publishFeed(core, audience, { kind: "presence", userId: a.userId, online: a.online, lastSeen: iso(a.lastSeen) });
      a.done();
    } catch (err) {
      a.failed(err); // this one alone: the others still go out
    }
  }
}

export interface ShownPresence {
  userId: number;
  online: boolean;
  lastSeen: string | null;
}

/** Presence of some people as `viewer` may see it: only contacts who show theirs. */
export async function presenceFor(core: Core, viewer: UserRef, userIds: number[]): Promise<ShownPresence[]> {
  if (userIds.length === 0) return [];
  const visible = (await uq.presenceVisible(core.db, viewer.id, userIds)).map((r) => r.id);
  if (visible.length === 0) return [];
  let status: Map<number, PresenceStatus>;
  try {
    status = await core.presence.status(visible);
  } catch {
    return []; // Redis away: say nothing rather than something wrong
  }
  return visible.map((id) => ({ userId: id, online: status.get(id)?.online ?? false, lastSeen: iso(status.get(id)?.lastSeen ?? null) }));
}
