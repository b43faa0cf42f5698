// "bob is typing…": passed on to the thread's live listeners and never stored. Clients send
// it at most every few seconds while someone types; pages show it for TYPING_SHOWN_MS after
// the last one, or until that person's message arrives.
import type { Core } from "../core.ts";
import type { UserRef } from "../realtime/events.ts";
import { topics } from "../realtime/topics.ts";

/** A typing signal more often than this from one person in one thread is dropped. */
export const TYPING_INTERVAL_MS = 2000;
export const TYPING_SHOWN_MS = 5000;

const lastSent = new Map<string, number>();

/** Membership must be checked by the caller (a live subscription, or assertMember). */
export function typing(core: Core, user: UserRef, threadId: number): void {
  const key = `${user.id}:${threadId}`;
  const now = Date.now();
  if (now - (lastSent.get(key) ?? 0) < TYPING_INTERVAL_MS) return;
  lastSent.set(key, now);
  // Forget old entries now and then, so the map stays the size of who is typing.
  if (lastSent.size > 10_000) for (const [k, at] of lastSent) if (now - at > TYPING_SHOWN_MS) lastSent.delete(k);
  core.bus.publish(topics.thread(threadId), { type: "typing", threadId, user: { id: user.id, username: user.username } });
}
