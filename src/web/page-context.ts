// What every page knows about its request: who is asking (session cookie), in which language
// and time zone, and the CSRF token for its forms; and the one check every page POST passes:
// it comes from one of our own pages and carries the token of this session (or, before login,
// of this browser).
import { Elysia } from "elysia";
import type { Core } from "../core.ts";
import type { Session } from "../auth/session.ts";
import { newPreSessionToken, PRE_SESSION_COOKIE, sameToken, sessionCsrfToken } from "../auth/csrf.ts";
import { fromOwnPage } from "../auth/origin.ts";
import { AppError } from "../errors.ts";
import { isLang, locale, negotiate, validTimeZone, type Locale } from "../i18n/index.ts";
import { authenticate, isHttps, SESSION_COOKIE } from "./auth.ts";
import type { PageContext } from "../../views/layout.tsx";

export const LANG_COOKIE = "lang";
export const TZ_COOKIE = "tz";

export type Cookies = Record<string, { value?: unknown; set(options: Record<string, unknown>): void; remove(): void }>;

/** Every field of a form is text; anything else (a repeated field, a file) reads as empty. */
export function field(body: unknown, name: string): string {
  const value = body !== null && typeof body === "object" ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" ? value : "";
}

export const newClientId = () => crypto.randomUUID();

/** The error a person reads, in their language, beside the field it belongs to. */
export function formErrors(err: AppError, l: Locale): Record<string, string> {
  // The domain's messages are written for people, in English; other languages use the catalogue.
  const text = l.lang === "en" ? err.message : ((l.t.errors as Record<string, string>)[err.code] ?? err.message);
  return { [err.field ?? "form"]: text };
}

/** A refused form's status (and, for a rate limit, when to try again). */
export function refuse(set: { status?: number | string; headers: Record<string, string | number> }, err: AppError): void {
  set.status = err.status;
  if (err.retryAfter !== undefined) set.headers["retry-after"] = String(err.retryAfter);
}

/** A path on this site to go back to after a form: never an open redirect. */
export function backTo(body: unknown, fallback: string): string {
  const back = field(body, "back");
  return /^\/(?!\/)[\w\-./%]*$/.test(back) ? back : fallback;
}

export function pageContext(core: Core) {
  return new Elysia()
    .resolve({ as: "scoped" }, async ({ headers, cookie, request }) => {
      const jar = cookie as unknown as Cookies;
      const auth = await authenticate(core, { authorization: undefined }, jar[SESSION_COOKIE]?.value as string | undefined);
      const session: Session | null = auth.session;
      const langCookie = jar[LANG_COOKIE]?.value;
      const l = locale(isLang(langCookie) ? langCookie : negotiate(headers["accept-language"]), validTimeZone(jar[TZ_COOKIE]?.value as string | undefined));
      let csrf: string;
      if (session) {
        csrf = sessionCsrfToken(session);
      } else {
        const existing = jar[PRE_SESSION_COOKIE]?.value;
        csrf = typeof existing === "string" && existing.length >= 16 && existing.length <= 64 ? existing : newPreSessionToken();
        if (csrf !== existing) {
          jar[PRE_SESSION_COOKIE]!.set({ value: csrf, httpOnly: true, sameSite: "lax", path: "/", secure: isHttps(request) });
        }
      }
      const ctx: PageContext = { locale: l, user: session?.user ?? null, csrf, path: new URL(request.url).pathname };
      return { session, ctx, jar };
    })
    .onBeforeHandle({ as: "scoped" }, ({ request, body, ctx, session }) => {
      if (request.method !== "POST") return;
      // Logging out of a session that has already ended changes nothing: let it through.
      if (!session && new URL(request.url).pathname === "/logout") return;
      if (!fromOwnPage(request, core.config.allowedOrigins) || !sameToken(field(body, "_csrf"), ctx.csrf)) {
        throw new AppError("forbidden", "This form came from another site or an old page: reload and try again.");
      }
    });
}

/** The signed-in person, or an error that sends them to log in. */
export function signedIn(session: Session | null) {
  if (!session) throw new AppError("unauthenticated", "Please log in.");
  return session.user;
}
