// Turning path and query strings from outside into the numbers the domain takes. Anything
// that is not a plain positive integer in range is refused here, never passed on.
import { AppError, notFound } from "../errors.ts";
import { MAX_SEQ } from "../chat/threads.ts";

const INTEGER = /^\d{1,15}$/;


/** A thread id from a path: anything malformed is simply a thread that does not exist. */
export function threadIdParam(raw: string | undefined): number {
  if (raw === undefined || !INTEGER.test(raw)) throw notFound();
  const id = Number(raw);
  if (id < 1 || id > Number.MAX_SAFE_INTEGER) throw notFound();
  return id;
}

/** An optional non-negative integer from a query string (seq cursors, limits). */
export function intQuery(raw: string | undefined, name: string, options: { min?: number; max?: number } = {}): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const min = options.min ?? 0;
  const max = options.max ?? MAX_SEQ;
  if (!INTEGER.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new AppError("bad_request", `${name} must be a whole number from ${min} to ${max}.`);
  }
  return Number(raw);
}

/** A seq in a JSON body or frame. */
export function seqValue(value: unknown, name = "seq"): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_SEQ) {
    throw new AppError("bad_request", `${name} must be a whole number from 0 to ${MAX_SEQ}.`);
  }
  return value;
}

/** A thread id in a JSON frame. */
export function threadIdField(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new AppError("bad_request", "threadId must be a positive whole number.");
  }
  return value;
}
