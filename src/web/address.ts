// The address a request came from, for per-address limits. Behind Caddy on the same host the
// peer is loopback and Caddy names the client in X-Forwarded-For (it replaces whatever the
// client sent there); a request straight from outside is its own peer, and its
// X-Forwarded-For is not believed.
import type { Server } from "bun";

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export function clientAddress(request: Request, server: Server<unknown> | null | undefined): string {
  const peer = server?.requestIP(request)?.address ?? "unknown";
  if (!LOOPBACK.test(peer)) return peer;
  const forwarded = request.headers.get("x-forwarded-for");
  return forwarded ? (forwarded.split(",").at(-1)?.trim() ?? peer) : peer;
}
