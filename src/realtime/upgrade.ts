// GET /api/v1/ws: who may open a socket, and the little each open socket keeps. The upgrade
// is checked (session, Origin, the per-person limit) and made here rather than through
// Elysia's .ws(): that one keeps a copy of the whole request context and seven closures with
// every socket, and builds an object of fifteen bound functions for every frame; an idle
// socket here holds its Connection and nothing else.
import { Elysia } from "elysia";
import type { ServerWebSocket } from "bun";
import type { Core } from "../core.ts";
import { authenticate, SESSION_COOKIE } from "../web/auth.ts";
import { isAllowedOrigin } from "../auth/origin.ts";
import { blockedIds } from "../chat/blocks.ts";
import type { Session } from "../auth/session.ts";
import { Connection } from "./socket.ts";
import { CLOSE, MAX_SOCKETS_PER_PERSON } from "./live.ts";
import type { Format } from "./topics.ts";

/**
 * What Bun keeps with each socket. Elysia's websocket handlers (installed on the server for
 * every app) call these methods of `ws.data`; being methods, they are shared by all sockets.
 */
class SocketData {
  private connection: Connection | null = null;

  constructor(
    private readonly core: Core,
    private opened: { session: Session; blocked: ReadonlySet<number>; format: Format } | null,
    /** Gives back the place the upgrade took among the person's sockets (see live.ts). */
    private release: (() => void) | null,
  ) {}

  open(ws: ServerWebSocket<SocketData>): void {
    const opened = this.opened;
    this.opened = null;
    if (!opened) {
      // Opened only to say why, with a code that tells clients not to retry as they are.
      ws.close(CLOSE.unauthenticated, "unauthenticated: log in again");
      return;
    }
    // The connection counts from here on, in the same tick the reserved place is given back.
    this.connection = new Connection(this.core, ws, opened.session, opened.format, opened.blocked);
    this.giveBack();
  }

  private giveBack(): void {
    this.release?.();
    this.release = null;
  }

  message(_ws: ServerWebSocket<SocketData>, message: string | Buffer): void {
    // A frame is a JSON object; anything else reaches the connection as it is, to be refused.
    let frame: unknown = message;
    if (typeof message === "string" && message.charCodeAt(0) === 0x7b /* { */) {
      try {
        frame = JSON.parse(message);
      } catch {
        /* not JSON: refused as it is */
      }
    }
    this.connection?.handle(frame, message.length);
  }

  close(): void {
    this.giveBack(); // closed before it opened
    this.connection?.onClosed();
    this.connection = null;
  }
}

export function socketRoute(core: Core) {
  return new Elysia().get("/api/v1/ws", async ({ request, headers, cookie, query, set, server }) => {
    const auth = await authenticate(core, headers, cookie[SESSION_COOKIE]?.value as string | undefined);
    const origin = request.headers.get("origin");
    // Cross-site WebSocket hijacking: a browser sends the cookie with any page's upgrade, so a
    // cookie-authenticated upgrade must come from our own origin; Origin is checked exactly,
    // and a missing one is refused too. Bearer clients are not browsers.
    const originOk = origin === null ? auth.via !== "cookie" : isAllowedOrigin(origin, request, core.config.allowedOrigins);
    if (!originOk) {
      set.status = 403;
      return "Forbidden: WebSocket upgrade from a foreign origin.";
    }
    // The place is taken here, before anything is awaited: checked now and counted only once
    // the socket opens, a burst of upgrades would all pass the check together.
    const release = auth.session ? core.live.reserve(auth.session.user.id, "ws", MAX_SOCKETS_PER_PERSON) : null;
    if (auth.session && !release) {
      set.status = 429;
      set.headers["retry-after"] = "30";
      return `Too many sockets: at most ${MAX_SOCKETS_PER_PERSON} open at once. Close some and try again.`;
    }
    let upgraded = false;
    try {
      const opened = auth.session
        ? { session: auth.session, blocked: await blockedIds(core, auth.session.user.id), format: (query.view === "html" ? "html" : "json") as Format }
        : null;
      upgraded = !!server?.upgrade(request, { data: new SocketData(core, opened, release) });
    } finally {
      // Upgraded: the socket's open() (or close(), if it never opens) gives the place back.
      if (!upgraded) release?.();
    }
    if (upgraded) return;
    set.status = 426;
    set.headers.upgrade = "websocket";
    return "This address takes WebSocket connections only.";
  });
}
