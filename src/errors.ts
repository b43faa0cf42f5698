// One error shape for the whole domain: a code a client can act on and a message a person
// can read. The web layer maps it to HTTP once (status below), the socket to an error frame.

export const ERRORS = {
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  unknown_user: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  username_taken: 409,
  invalid_username: 422,
  invalid_password: 422,
  invalid_participants: 422,
  empty_message: 422,
  message_too_long: 422,
  invalid_text: 422,
  invalid_credentials: 401,
  undeliverable: 403,
  not_allowed: 403,
  invalid_title: 422,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Which form field the error belongs to, so a page can show it beside that field. */
  readonly field: string | undefined;
  /** Seconds until a refused request may be tried again (rate limits). */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: { field?: string; retryAfter?: number } = {}) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.field = options.field;
    this.retryAfter = options.retryAfter;
  }

  get status(): number {
    return ERRORS[this.code];
  }

  toJSON() {
    return { error: { code: this.code, message: this.message } };
  }
}

export const notFound = () => new AppError("not_found", "No such conversation.");

/**
 * True when an error means a backend (PostgreSQL or Redis) could not be reached, not that a
 * request was wrong: the answer is 503 "try again", never a 500.
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof AppError) return err.code === "unavailable";
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  const code = String(e?.code ?? "");
  const name = String(e?.name ?? "");
  const message = String(e?.message ?? "");
  return (
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT"].includes(code) ||
    code.startsWith("08") || // SQLSTATE class 08: connection exception
    ["57P01", "57P02", "57P03"].includes(code) || // shutting down, crashed, not accepting yet
    name === "MaxRetriesPerRequestError" || // ioredis, Redis away
    /Stream isn't writeable|Connection is closed|enableOfflineQueue|PGlite is closed/i.test(message)
  );
}
