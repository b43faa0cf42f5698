// createApp(core): every route, the WebSocket (realtime/upgrade.ts), health and static
// files, and the one place where errors become HTTP. It never listens; main.ts and the tests do.
import { Elysia } from "elysia";
import { html } from "@elysiajs/html";
import type { Core } from "./core.ts";
import { AppError, isUnavailable } from "./errors.ts";
import { apiRoutes } from "./api/v1.ts";
import { pageRoutes } from "./web/pages.tsx";
import { chatRoutes } from "./web/chat-pages.tsx";
import { peoplePages } from "./web/people-pages.tsx";
import { serveAsset } from "./web/assets.ts";
import { health } from "./web/health.ts";
import { socketRoute } from "./realtime/upgrade.ts";
import { errorPage } from "./web/error-page.tsx";
import { renewSessionCookie } from "./web/auth.ts";

/** Request bodies past this are refused with 413: 10,000 emoji, form-encoded, fit well inside. */
export const MAX_BODY_BYTES = 256 * 1024;
/** A frame past this closes the socket with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Bytes queued for a socket that does not read before Bun drops it; it resumes by cursor. */
export const BACKPRESSURE_BYTES = 1024 * 1024;
/** Bun pings an idle socket and closes it if nothing answers within this many seconds. */
export const IDLE_TIMEOUT_S = 60;

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

export interface AppOptions {
  /** Seconds an idle HTTP connection is kept (event streams opt out). Bun's default when unset. */
  idleTimeoutS?: number;
}

export function createApp(core: Core, options: AppOptions = {}) {
  return new Elysia({
    // reusePort off: a second server on the same port is an error, not a silent co-tenant.
    serve: {
      // Bun's own backstop; bodies are held to MAX_BODY_BYTES below, with a JSON error.
      maxRequestBodySize: 2 * MAX_BODY_BYTES,
      reusePort: false,
      ...(options.idleTimeoutS !== undefined ? { idleTimeout: options.idleTimeoutS } : {}),
    },
    websocket: {
      maxPayloadLength: MAX_FRAME_BYTES,
      backpressureLimit: BACKPRESSURE_BYTES,
      closeOnBackpressureLimit: true,
      idleTimeout: IDLE_TIMEOUT_S,
      sendPings: true,
      perMessageDeflate: false,
    },
  })
    .use(html({ autoDoctype: false }))
    .onRequest(({ request, set }) => {
      Object.assign(set.headers, SECURITY_HEADERS);
      const length = Number(request.headers.get("content-length") ?? 0);
      if (length > MAX_BODY_BYTES) {
        throw new AppError("payload_too_large", `The request body is over ${MAX_BODY_BYTES / 1024} KiB.`);
      }
    })
    // JSON and form bodies are read here rather than by Elysia: counted as they come (a
    // chunked body has no length to check up front) and decoded strictly, so invalid UTF-8 is
    // refused instead of silently turned into U+FFFD and stored. Nothing here takes any other
    // kind of body, and Elysia's own parsers would read one uncounted: refused.
    .onParse(async ({ request, contentType }) => {
      const json = contentType.startsWith("application/json");
      if (!request.body) return;
      if (!json && !contentType.startsWith("application/x-www-form-urlencoded")) {
        if (contentType === "") return; // no type, no body to speak of: the route finds no fields
        throw new AppError("unsupported_media_type", "Send JSON (application/json) or a form (application/x-www-form-urlencoded).");
      }
      const text = await readLimited(request.body, MAX_BODY_BYTES);
      if (!json) return decodeForm(text);
      try {
        return JSON.parse(text);
      } catch {
        throw new AppError("bad_request", "The request body is not valid JSON.");
      }
    })
    .onError(({ code, error, request }) => {
      const api = new URL(request.url).pathname.startsWith("/api/");
      let err: AppError;
      const cause = (error as { cause?: unknown } | null)?.cause;
      if (error instanceof AppError) err = error;
      else if (cause instanceof AppError) err = cause; // thrown in onParse, wrapped by Elysia
      else if (code === "VALIDATION") err = new AppError("bad_request", validationMessage(error));
      else if (code === "PARSE") err = new AppError("bad_request", "The request body is not valid JSON or form data.");
      else if (code === "NOT_FOUND") err = new AppError("not_found", "There is nothing here.");
      else if (isUnavailable(error)) err = new AppError("unavailable", "The service is unavailable right now. Try again in a moment.");
      else {
        core.log.error(`${request.method} ${new URL(request.url).pathname}: ${(error as Error)?.stack ?? error}`);
        err = new AppError("internal", "Something went wrong on our side.");
      }
      // A Response, not a value through `set`: errors thrown in onRequest skip the body mapping.
      const headers: Record<string, string> = { ...SECURITY_HEADERS, "cache-control": "no-store" };
      if (err.retryAfter !== undefined) headers["retry-after"] = String(err.retryAfter);
      if (api) return Response.json(err.toJSON(), { status: err.status, headers });
      // A page that needs a session, without one: the login page is where to go.
      if (err.code === "unauthenticated") return new Response(null, { status: 303, headers: { ...headers, location: "/login" } });
      return new Response(errorPage(request, err), { status: err.status, headers: { ...headers, "content-type": "text/html; charset=utf-8" } });
    })
    // A session slid on this request: the browser's cookie is given the new lifetime too.
    .onAfterHandle({ as: "global" }, (context) => renewSessionCookie(context as unknown as Parameters<typeof renewSessionCookie>[0]))
    .get("/healthz", async ({ set }) => {
      const report = await health(core);
      set.status = report.status === "ok" ? 200 : 503;
      set.headers["cache-control"] = "no-store";
      return report;
    })
    .get("/static/:name", ({ params, query, request }) => serveAsset(params.name, query.v, request.headers.get("if-none-match")))
    .use(apiRoutes(core))
    .use(pageRoutes(core))
    .use(chatRoutes(core))
    .use(peoplePages(core))
    .use(socketRoute(core));
}

export type App = ReturnType<typeof createApp>;

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw new AppError("payload_too_large", `The request body is over ${limit / 1024} KiB.`);
    chunks.push(chunk);
  }
  try {
    return STRICT_UTF8.decode(Buffer.concat(chunks));
  } catch {
    throw new AppError("bad_request", "The request body is not valid UTF-8.");
  }
}

/**
 * A form body (application/x-www-form-urlencoded), as URLSearchParams reads it (the last of a
 * repeated field wins) but strict: URLSearchParams turns a percent-encoded byte that is not
 * UTF-8 (%FF) into U+FFFD, and a stray % into itself; either is refused here instead.
 */
export function decodeForm(text: string): Record<string, string> {
  const fields: [string, string][] = [];
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const [name, value] = eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)];
    try {
      fields.push([decodeURIComponent(name.replaceAll("+", " ")), decodeURIComponent(value.replaceAll("+", " "))]);
    } catch {
      throw new AppError("bad_request", "The form is not valid: a field is not percent-encoded UTF-8.");
    }
  }
  return Object.fromEntries(fields);
}

function validationMessage(error: unknown): string {
  const first = (error as { all?: { path?: string; message?: string }[] }).all?.[0];
  if (!first) return "The request is not in the expected shape.";
  const where = first.path ? `${first.path.replace(/^\//, "").replaceAll("/", ".")}: ` : "";
  return `${where}${first.message ?? "invalid"}`;
}
