// THE write path for messages: the page form, the JSON API and the WebSocket all call
// postMessage. It checks the text, stores it through the group-commit writer and only then
// (in onCommitted) counts and publishes it.
import { AppError } from "../errors.ts";
import { LIMITS } from "../auth/rate-limit.ts";
import type { Message, UserRef } from "../realtime/events.ts";
import { getThread, openDirect, type Thread } from "./threads.ts";
import { topics } from "../realtime/topics.ts";
import type { Core } from "../core.ts";
import type { WriteResult } from "./writer.ts";
import { publishFeed } from "./feed.ts";

/** Counted in characters (code points), not bytes or UTF-16 units. */
export const MAX_MESSAGE_CHARS = 10_000;
const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export function checkText(text: unknown): string {
  if (typeof text !== "string") throw new AppError("bad_request", "text must be a string.", { field: "text" });
  if (text.trim() === "") throw new AppError("empty_message", "The message is empty.", { field: "text" });
  if (text.length > MAX_MESSAGE_CHARS && [...text].length > MAX_MESSAGE_CHARS) {
    throw new AppError("message_too_long", `A message is at most ${MAX_MESSAGE_CHARS.toLocaleString("en")} characters.`, { field: "text" });
  }
  if (text.includes("\u0000")) throw new AppError("invalid_text", "The message contains a NUL character.", { field: "text" });
  if (!text.isWellFormed()) throw new AppError("invalid_text", "The message is not valid Unicode text.", { field: "text" });
  return text;
}

export function checkClientId(clientId: unknown): string | null {
  if (clientId === undefined || clientId === null || clientId === "") return null;
  if (typeof clientId !== "string" || !CLIENT_ID.test(clientId)) {
    throw new AppError("bad_request", "clientId is 1–64 characters of letters, digits and _ . : -");
  }
  return clientId;
}

export interface SendInput {
  threadId: number;
  text: unknown;
  clientId?: unknown;
}

export async function postMessage(core: Core, sender: UserRef, input: SendInput): Promise<WriteResult> {
  const text = checkText(input.text);
  const clientId = checkClientId(input.clientId);
  await core.limits.check(LIMITS.messagesPerPerson, sender.id);
  return core.writer.write({ threadId: input.threadId, sender, text, clientId });
}

/**
 * Runs after each group commit, before any sender hears back: counters first, then one
 * publish per message, in seq order, and a feed event for each member.
 */
export function onCommitted(core: Core, results: WriteResult[]): void {
  core.counters.record(results.map(({ message }) => ({ threadId: message.threadId, seq: message.seq, senderId: message.kind === "text" ? message.sender.id : null }))).catch(() => {});
  for (const { message, created, thread, members } of results) {
    core.bus.publish(topics.thread(message.threadId), { type: "message", message });
    // A retried send's thread state is old news; only new messages change the lists.
    if (created) publishFeed(core, members, { kind: "message", thread, message }, message.createdAt);
  }
}

/**
 * "New message" by username: the 1:1 conversation with that person (the one that exists, or
 * a new one) and, when there is text, the message in it. The text is checked first, so a
 * refused message never leaves an empty conversation behind.
 */
export async function startConversation(
  core: Core,
  sender: UserRef,
  input: { to?: unknown; text?: unknown; clientId?: unknown },
): Promise<{ thread: Thread; created: boolean; message?: Message }> {
  if (input.text !== undefined) {
    checkText(input.text);
    checkClientId(input.clientId);
  }
  const opened = await openDirect(core, sender, input.to);
  if (input.text === undefined) return opened;
  const { message } = await postMessage(core, sender, { threadId: opened.thread.id, text: input.text, clientId: input.clientId });
  return { thread: await getThread(core, sender, opened.thread.id), created: opened.created, message };
}
