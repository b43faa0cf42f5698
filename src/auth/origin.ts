// Where a request comes from. A browser names the page's origin in `Origin` on every POST,
// WebSocket upgrade and cross-origin fetch; another site cannot forge it. Matching is exact:
// scheme, host and port, with no prefix or substring games.

/** The origin this server is reached at, as the browser sees it (Caddy sets X-Forwarded-Proto). */
export function ownOrigin(request: Request): string {
  const url = new URL(request.url);
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
  const scheme = forwarded === "https" || forwarded === "http" ? forwarded : url.protocol.slice(0, -1);
  return `${scheme}://${url.host}`;
}

export function isAllowedOrigin(origin: string, request: Request, allowed: readonly string[]): boolean {
  return origin === ownOrigin(request) || allowed.includes(origin);
}

/**
 * True when a browser says this request was made by one of our own pages: an allowed
 * Origin, or, where a browser sends no Origin, Sec-Fetch-Site "same-origin". A request with
 * neither is not from a browser page we can vouch for, and is treated as foreign.
 */
export function fromOwnPage(request: Request, allowed: readonly string[]): boolean {
  const origin = request.headers.get("origin");
  if (origin !== null) return isAllowedOrigin(origin, request, allowed);
  return request.headers.get("sec-fetch-site") === "same-origin";
}
