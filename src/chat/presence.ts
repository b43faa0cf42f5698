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

/** Tells a person's contacts that they came online or went; nothing if they hide it. */
export async function announcePresence(core: Core, userId: number, online: boolean, lastSeen: number | null): Promise<void> {
  const [settings] = await uq.settings(core.db, userId);
  if (!settings?.showPresence) return;
  const contacts = (await uq.contacts(core.db, userId)).map((c) => c.userId);
  publishFeed(core, contacts, { kind: "presence", userId, online, lastSeen: iso(lastSeen) });
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
