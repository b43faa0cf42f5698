// This instance's live clients (WebSocket connections and event streams), by person: for
// closing them all on shutdown, and for reaching one person's connections.

/**
 * Close codes: 4401 means "log in again, do not retry as you are"; 1012 (restarting) and 1013
 * (too slow to keep up) mean "reconnect, with backoff, and resume".
 */
export const CLOSE = {
  unauthenticated: 4401,
  restarting: 1012,
  slow: 1013,
} as const;

export interface LiveClient {
  readonly userId: number;
  /** The session it was opened with: logging out closes it. */
  readonly sessionId: string;
  close(code: number, reason: string): void;
}

export class LiveClients {
  private readonly byUser = new Map<number, Set<LiveClient>>();
  private total = 0;

  add(client: LiveClient): void {
    let set = this.byUser.get(client.userId);
    if (!set) this.byUser.set(client.userId, (set = new Set()));
    if (!set.has(client)) {
      set.add(client);
      this.total++;
    }
  }

  remove(client: LiveClient): void {
    const set = this.byUser.get(client.userId);
    if (!set?.delete(client)) return;
    this.total--;
    if (set.size === 0) this.byUser.delete(client.userId);
  }

  /** Closes one person's connections of one session, or of all their sessions. */
  closeSessions(userId: number, sessionId: string | null, code: number, reason: string): void {
    for (const client of [...(this.byUser.get(userId) ?? [])]) {
      if (sessionId === null || client.sessionId === sessionId) client.close(code, reason);
    }
  }

  count(): number {
    return this.total;
  }

  closeAll(code: number, reason: string): void {
    for (const set of [...this.byUser.values()]) for (const client of [...set]) client.close(code, reason);
  }
}
