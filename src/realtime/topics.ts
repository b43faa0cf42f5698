// Every Redis key, bus channel and socket topic name, spelled once.

/**
 * What a live connection listens to: one conversation, or one person's own feed; and the
 * instances' own channel, which every instance follows (sessions ended, members removed).
 */
export type Topic = `thread:${number}` | `user:${number}` | "control";

export const topics = {
  thread: (threadId: number): Topic => `thread:${threadId}`,
  user: (userId: number): Topic => `user:${userId}`,
  control: "control" as Topic,
  /** The thread a topic is about, or null for the others. */
  threadIdOf: (topic: Topic): number | null => (topic.startsWith("thread:") ? Number(topic.slice("thread:".length)) : null),
};

/** Bun's per-process socket topics: a topic's frames exist in two renderings. */
export type Format = "json" | "html";
export const socketTopic = (topic: Topic, format: Format) => `${topic}:${format}`;

/**
 * Names in Redis. They carry the database's installation id, so two databases that share a
 * Redis (staging and production, two test runs) never see each other's keys or messages.
 */
export function redisNames(installation: string) {
  const prefix = `parley:${installation}:`;
  return {
    /** The one channel every instance publishes its events on and reads (see bus.ts). */
    bus: `${prefix}bus`,
    session: (id: string) => `${prefix}session:${id}`,
    userSessions: (userId: number) => `${prefix}user:${userId}:sessions`,
    counters: (threadId: number) => `${prefix}thread:${threadId}:counters`,
    /** Which instances hold a live connection of this person, each until when. */
    presence: (userId: number) => `${prefix}presence:${userId}`,
    /** When each person was last online. */
    lastSeen: `${prefix}last-seen`,
    rateLimit: (limit: string, key: string) => `${prefix}limit:${limit}:${key}`,
    /** A pattern for every key of this installation (a benchmark's or test run's, to delete). */
    everything: `${prefix}*`,
  };
}

export type RedisNames = ReturnType<typeof redisNames>;
