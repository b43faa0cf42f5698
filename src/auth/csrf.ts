// CSRF tokens for forms. Signed-in: an HMAC of the session id keyed by the session's own
// secret, which only the browser holding the cookie and the server reading it know; so the
// token is bound to the session, needs no storage and works on every instance with no
// shared server secret. Signed-out (login, signup, language): a random value in a cookie
// that the form must repeat (double submit); with the Origin check that covers login CSRF.
import { timingSafeEqual } from "node:crypto";
import type { Session } from "./session.ts";

export const PRE_SESSION_COOKIE = "parley_csrf";

export function sessionCsrfToken(session: Session): string {
  return new Bun.CryptoHasher("sha256", session.secret).update(`parley-csrf:${session.id}`).digest("base64url");
}

export function newPreSessionToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");
}

export function sameToken(given: unknown, expected: string | null | undefined): boolean {
  if (typeof given !== "string" || !expected) return false;
  // Compared as bytes: the same number of characters can be a different number of bytes
  // ("À" is two), and timingSafeEqual throws on buffers of different lengths.
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
