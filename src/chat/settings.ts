// A person's privacy settings: read receipts (off: their reads are not shown, and they see no
// one else's) and presence (off: nobody sees them online or when they were last seen).
import type { Core } from "../core.ts";
import { users as q, type Settings } from "../db/queries.ts";
import { AppError } from "../errors.ts";
import type { UserRef } from "../realtime/events.ts";
import { announcePresence } from "./presence.ts";
import { publishFeed } from "./feed.ts";

export async function getSettings(core: Core, me: UserRef): Promise<Settings> {
  const [settings] = await q.settings(core.db, me.id);
  if (!settings) throw new AppError("unauthenticated", "Please log in.");
  return settings;
}

function flag(value: unknown, name: string): boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "boolean") throw new AppError("bad_request", `${name} must be true or false.`);
  return value;
}

export async function updateSettings(core: Core, me: UserRef, input: { readReceipts?: unknown; showPresence?: unknown }): Promise<Settings> {
  const before = await getSettings(core, me);
  const [after] = await q.updateSettings(core.db, me.id, flag(input.readReceipts, "readReceipts"), flag(input.showPresence, "showPresence"));
  if (before.showPresence !== after!.showPresence) {
    // Hidden now: contacts see them go (with no time); shown again: contacts see where they are.
    if (!after!.showPresence) await announceHidden(core, me);
    else {
      const status = (await core.presence.status([me.id])).get(me.id);
      await announcePresence(core, me.id, status?.online ?? false, status?.lastSeen ?? null);
    }
  }
  return after!;
}

async function announceHidden(core: Core, me: UserRef): Promise<void> {
  const contacts = (await q.contacts(core.db, [me.id], false)).map((c) => c.userId);
  publishFeed(core, contacts, { kind: "presence", userId: me.id, online: false, lastSeen: null });
}
