// Where a request comes from. A browser names the page's origin in `Origin` on every POST,
// WebSocket upgrade and cross-origin fetch; another site cannot forge it. Matching is exact:
// scheme, host and port, with no prefix or substring games.

/**
 * The scheme the browser used: Caddy terminates TLS and says so in X-Forwarded-Proto. A
 * client that sends the header itself only changes how its own cookies are flagged.
 */
export function requestScheme(request: Request): "http" | "https" {
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
  if (forwarded === "https" || forwarded === "http") return forwarded;
  return request.url.startsWith("https:") ? "https" : "http";
}

/** The origin this server is reached at, as the browser sees it. */
export function ownOrigin(request: Request): string {
  return `${requestScheme(request)}://${new URL(request.url).host}`;
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
