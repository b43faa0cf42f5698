// Who is asking: a session from the `Authorization: Bearer` header (API clients) or from the
// session cookie (pages, and the page script's own API calls). How they asked matters: a
// cookie rides along on requests other sites make, a bearer header never does, so only
// cookie requests need the Origin and CSRF checks.
import type { Core } from "../core.ts";
import { SESSION_TTL_MS, type Session, type SessionUser } from "../auth/session.ts";
import { AppError } from "../errors.ts";
import { requestScheme } from "../auth/origin.ts";

export const SESSION_COOKIE = "parley_session";

export interface Auth {
  session: Session | null;
  via: "cookie" | "bearer" | null;
}

export async function authenticate(core: Core, headers: Record<string, string | undefined>, cookieToken: string | undefined): Promise<Auth> {
  const header = headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return { session: match ? await core.sessions.validate(match[1]) : null, via: "bearer" };
  }
  if (cookieToken) return { session: await core.sessions.validate(cookieToken), via: "cookie" };
  return { session: null, via: null };
}

export function requireSession(auth: Auth): Session {
  if (!auth.session) throw new AppError("unauthenticated", "Log in first: send the session cookie or an Authorization: Bearer token.");
  return auth.session;
}

/** Served over HTTPS, directly or behind Caddy: then cookies get the Secure flag. */
export function isHttps(request: Request): boolean {
  return requestScheme(request) === "https";
}

export function sessionCookie(request: Request, token: string) {
  return {
    value: token,
    httpOnly: true,
    sameSite: "lax" as const,
    path: "/",
    secure: isHttps(request),
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  };
}

/** Expires the session cookie in the browser, whether or not this request carried it. */
export function expiredSessionCookie(request: Request) {
  return { ...sessionCookie(request, ""), maxAge: 0, expires: new Date(0) };
}

/**
 * What a request's context says about its session, as the page and API plugins resolve it:
 * `session` (pages, always from the cookie) or `auth` (the API, from the cookie or a bearer).
 */
interface ResolvedContext {
  request: Request;
  set: { cookie?: Record<string, unknown> };
  cookie: Record<string, CookieSlot>;
  session?: unknown;
  auth?: unknown;
}

/**
 * The server slides a session's expiry as it is used (30 days past its last use), but a
 * browser drops the cookie when the Max-Age it was given runs out: so the request whose cookie
 * session was just slid (Session.renewed) sends the cookie again, with a fresh Max-Age. Not
 * when the handler set the cookie itself (logging in or out): that one stands.
 */
export function renewSessionCookie(context: ResolvedContext): void {
  const auth = context.auth as Partial<Auth> | undefined;
  const session = (context.session ?? (auth?.via === "cookie" ? auth.session : null)) as Session | null | undefined;
  if (!session?.renewed || context.set.cookie?.[SESSION_COOKIE] !== undefined) return;
  const slot = context.cookie[SESSION_COOKIE] as (CookieSlot & { value?: unknown }) | undefined;
  const token = slot?.value;
  if (typeof token !== "string" || !token.startsWith(`${session.id}.`)) return;
  slot!.set(sessionCookie(context.request, token));
}

/** The part of Elysia's cookie jar entry that starting a session needs. */
export interface CookieSlot {
  set(options: ReturnType<typeof sessionCookie>): void;
}

/**
 * Signs a person in: a fresh session every time (no fixation), ending the one the request
 * came with, if any, and the cookie set. Returns the token for API clients.
 */
export async function startSession(core: Core, request: Request, cookie: CookieSlot, user: SessionUser, previous: Session | null): Promise<string> {
  if (previous) await core.sessions.invalidate(previous);
  const { token } = await core.sessions.create(user);
  cookie.set(sessionCookie(request, token));
  return token;
}
