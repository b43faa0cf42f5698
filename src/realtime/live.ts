// This instance's live clients (WebSocket connections and event streams), by person: for
// closing them all on shutdown, and for reaching one person's connections.

/**
 * Close codes: 4401 means "log in again, do not retry as you are"; 1012 (restarting) and 1013
 * (too slow to keep up) mean "reconnect, with backoff, and resume".
 */
/**
 * Per person and instance: enough for every tab and device anyone has, few enough that one
 * account cannot hold an instance's sockets.
 */
export const MAX_SOCKETS_PER_PERSON = 50;
export const MAX_STREAMS_PER_PERSON = 20;

export const CLOSE = {
  unauthenticated: 4401,
  /** Broke a limit of the protocol (too many frames waiting): slow down, then reconnect and resume. */
  policy: 1008,
  restarting: 1012,
  slow: 1013,
} as const;

export interface LiveClient {
  readonly kind: "ws" | "sse";
  readonly userId: number;
  /** The session it was opened with: logging out closes it. */
  readonly sessionId: string;
  close(code: number, reason: string): void;
  /** No longer a member of this thread: stop following it, now. */
  leaveThread(threadId: number): void;
  /** Whom the person blocked changed: leave out what those people send from now on. */
  setBlocked(ids: ReadonlySet<number>): void;
}

export class LiveClients {
  private readonly byUser = new Map<number, Set<LiveClient>>();
  private total = 0;
  /**
   * Places taken by connections still being opened (an upgrade or a stream waiting on the
   * database), by kind and person. They count against the limit with the open ones, so that
   * requests arriving together cannot all pass the check before any of them is added.
   */
  private readonly pending = new Map<string, number>();

  /** `arrived`/`left`: a person's first connection here opened, their last one here closed. */
  constructor(
    private readonly arrived: (userId: number) => void = () => {},
    private readonly left: (userId: number) => void = () => {},
  ) {}

  add(client: LiveClient): void {
    let set = this.byUser.get(client.userId);
    if (!set) this.byUser.set(client.userId, (set = new Set()));
    if (set.has(client)) return;
    set.add(client);
    this.total++;
    if (set.size === 1) this.arrived(client.userId);
  }

  remove(client: LiveClient): void {
    const set = this.byUser.get(client.userId);
    if (!set?.delete(client)) return;
    this.total--;
    if (set.size === 0) {
      this.byUser.delete(client.userId);
      this.left(client.userId);
    }
  }

  /**
   * Takes one of a person's places for a connection of one kind, if one is left, in the same
   * tick as the check (so nothing can come between them). Returns the function that gives it
   * back (calling it again does nothing): once the connection is added, or when it fails to
   * open. null: the person has `max` open or being opened here already.
   */
  reserve(userId: number, kind: LiveClient["kind"], max: number): (() => void) | null {
    const key = `${kind}:${userId}`;
    const held = this.pending.get(key) ?? 0;
    if (this.countOf(userId, kind) + held >= max) return null;
    this.pending.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.pending.get(key) ?? 1) - 1;
      if (left > 0) this.pending.set(key, left);
      else this.pending.delete(key);
    };
  }

  /** How many connections of one kind a person has open here. */
  countOf(userId: number, kind: LiveClient["kind"]): number {
    let n = 0;
    for (const client of this.byUser.get(userId) ?? []) if (client.kind === kind) n++;
    return n;
  }

  /** Whether a person has any connection here. */
  has(userId: number): boolean {
    return this.byUser.has(userId);
  }

  /** Everyone with a connection here. */
  users(): number[] {
    return [...this.byUser.keys()];
  }

  /** Each of one person's connections here. */
  each(userId: number, fn: (client: LiveClient) => void): void {
    for (const client of [...(this.byUser.get(userId) ?? [])]) fn(client);
  }

  /** Closes one person's connections of one session, or of all their sessions. */
  closeSessions(userId: number, sessionId: string | null, code: number, reason: string): void {
    for (const client of [...(this.byUser.get(userId) ?? [])]) {
      if (sessionId === null || client.sessionId === sessionId) client.close(code, reason);
    }
  }

  leaveThread(userId: number, threadId: number): void {
    for (const client of [...(this.byUser.get(userId) ?? [])]) client.leaveThread(threadId);
  }

  count(): number {
    return this.total;
  }

  closeAll(code: number, reason: string): void {
    for (const set of [...this.byUser.values()]) for (const client of [...set]) client.close(code, reason);
  }
}
