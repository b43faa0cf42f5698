// This instance's live clients (WebSocket connections and event streams), by person: for
// closing them all on shutdown, and for reaching one person's connections.

export interface LiveClient {
  readonly userId: number;
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

  of(userId: number): readonly LiveClient[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  count(): number {
    return this.total;
  }

  closeAll(code: number, reason: string): void {
    for (const set of [...this.byUser.values()]) for (const client of [...set]) client.close(code, reason);
  }
}
