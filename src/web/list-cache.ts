// The conversation list, rendered, kept per person, language, time zone and page, until
// something in that person's feed changes. A busy person reloads /messages far more often
// than their conversations change, and the list (a hundred conversations, each with counts,
// unread and a preview) is the most expensive page there is.
//
// The cache hears about changes the way the pages do: it follows the person's feed topic
// (user:<id>) while it holds anything of theirs, on this instance, through the bus, so a
// change made on any instance empties it. Entries also lapse after TTL_MS, so times written
// as "today at 14:05" do not outlive the day they describe by much.
import type { Core } from "../core.ts";
import { topics, type Topic } from "../realtime/topics.ts";

/** People whose lists are kept; past it, the least recently used are dropped. */
const MAX_PEOPLE = 2000;
/**
 * Pages kept per person (each page, language and time zone is one): a person reads the first
 * page or two, and anyone walking ?offset= through every number must not grow the cache.
 */
const MAX_PAGES_PER_PERSON = 8;
const TTL_MS = 30_000;

interface Entry<T> {
  value: T;
  at: number;
}

interface Person<T> {
  entries: Map<string, Entry<T>>;
  stop: () => void;
  topic: Topic;
}

export class ListCache<T> {
  private readonly people = new Map<number, Person<T>>();

  constructor(private readonly core: Core) {}

  get(userId: number, key: string): T | undefined {
    const person = this.people.get(userId);
    const entry = person?.entries.get(key);
    if (!person || !entry) return undefined;
    if (Date.now() - entry.at > TTL_MS) {
      person.entries.delete(key);
      return undefined;
    }
    // Most recently used last, so the first is the one to drop.
    this.people.delete(userId);
    this.people.set(userId, person);
    return entry.value;
  }

  /**
   * Keeps a value computed from the database. `started` is when that computation began: a
   * change heard after it began may not be in the value, so such a value is not kept.
   */
  async set(userId: number, key: string, value: T, started: number): Promise<void> {
    let person = this.people.get(userId);
    if (!person) {
      const topic = topics.user(userId);
      try {
        await this.core.fanout.acquire(topic);
      } catch {
        return; // the bus is away: serve uncached rather than risk serving stale
      }
      if (this.people.has(userId)) {
        this.core.fanout.release(topic);
      } else {
        const stop = this.core.fanout.listen(topic, () => this.forget(userId, Date.now()));
        this.people.set(userId, { entries: new Map(), stop, topic });
        if (this.people.size > MAX_PEOPLE) this.drop(this.people.keys().next().value!);
      }
      person = this.people.get(userId)!;
      // It was not listening while the value was computed: something may have been missed.
      return;
    }
    if ((this.changed.get(userId) ?? 0) >= started) return;
    const now = Date.now();
    for (const [k, entry] of person.entries) if (now - entry.at > TTL_MS) person.entries.delete(k);
    person.entries.delete(key);
    person.entries.set(key, { value, at: now });
    // Oldest first: past the limit, the page kept longest ago goes.
    if (person.entries.size > MAX_PAGES_PER_PERSON) person.entries.delete(person.entries.keys().next().value!);
  }

  /** Pages kept for one person (for tests and diagnostics). */
  size(userId: number): number {
    return this.people.get(userId)?.entries.size ?? 0;
  }

  /** When each person's feed last changed, for values computed across a change. */
  private readonly changed = new Map<number, number>();

  private forget(userId: number, at: number): void {
    this.changed.set(userId, at);
    this.people.get(userId)?.entries.clear();
  }

  private drop(userId: number): void {
    const person = this.people.get(userId);
    if (!person) return;
    this.people.delete(userId);
    this.changed.delete(userId);
    person.stop();
    this.core.fanout.release(person.topic);
  }

  /** Lets go of every topic (shutdown). */
  clear(): void {
    for (const userId of [...this.people.keys()]) this.drop(userId);
  }
}
