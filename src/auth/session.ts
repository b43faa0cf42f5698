// Sessions on Lucia's current design (lucia-auth.com): the `lucia` package's v3 is deprecated
// by its author, who publishes the design as code to own, so here it is, whole.
// - A token is "<id>.<secret>", both random; the client holds it (cookie or bearer header).
// - Only a SHA-256 of the secret is stored, so a leaked store cannot be replayed as tokens.
// - The secret is compared in constant time.
// - A session lives SESSION_TTL past its last use; the expiry slides at most once per
//   SLIDE_INTERVAL, so a busy client does not write to the store on every request.
// Sessions live in Redis when it is configured (shared by every instance), otherwise in the
// database, so they survive a restart either way.
import { timingSafeEqual } from "node:crypto";
import type Redis from "ioredis";
import type { Db } from "../db/client.ts";
import { sessions as q } from "../db/queries.ts";
import type { RedisNames } from "../realtime/topics.ts";

export const SESSION_TTL_MS = 30 * 24 * 3600_000;
const SLIDE_INTERVAL_MS = 3600_000;
/** How long an instance trusts its copy of a session (logouts reach it sooner, by broadcast). */
const CACHE_MS = 5000;
const CACHE_MAX = 10_000;
/** Ours are 49 characters; anything much longer is not worth a store lookup. */
const MAX_TOKEN_LENGTH = 100;

export interface SessionUser {
  id: number;
  username: string;
}

export interface Session {
  id: string;
  user: SessionUser;
  expiresAt: number;
  /** The token's secret part: binds CSRF tokens to this session without storing them. */
  secret: string;
  /**
   * True when this very validation slid the expiry: a browser's cookie was given the old
   * lifetime, so the request that slid it sends the cookie again (web/auth.ts).
   */
  renewed?: boolean;
}

interface StoredSession {
  id: string;
  secretHash: Uint8Array;
  user: SessionUser;
  expiresAt: number;
}

export interface SessionStore {
  put(session: StoredSession): Promise<void>;
  get(id: string): Promise<StoredSession | null>;
  extend(id: string, expiresAt: number): Promise<void>;
  delete(id: string, userId: number): Promise<void>;
  deleteForUser(userId: number): Promise<void>;
  /** Drops expired sessions (Redis expires its own keys). */
  sweep(): Promise<void>;
}

// 24 random bytes, 5 bits of each → 24 characters of lower-case base32: 120 bits, as in
// Lucia's examples (256 is a multiple of 32, so every character is equally likely).
const ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

function hashSecret(secret: string): Uint8Array {
  return new Bun.CryptoHasher("sha256").update(secret).digest() as Uint8Array;
}

export class Sessions {
  /** `revoked` hears of every session ended, so live connections of it can be closed. */
  constructor(
    private readonly store: SessionStore,
    private readonly revoked: (userId: number, sessionId: string | null) => void = () => {},
  ) {}

  /** Starts a session and returns its token: the only time the secret is known in full. */
  async create(user: SessionUser): Promise<{ token: string; session: Session }> {
    const id = randomId();
    const secret = randomId();
    const expiresAt = Date.now() + SESSION_TTL_MS;
    await this.store.put({ id, secretHash: hashSecret(secret), user, expiresAt });
    return { token: `${id}.${secret}`, session: { id, user, expiresAt, secret } };
  }

  /** The session a token stands for, or null if it is malformed, unknown, wrong or expired. */
  async validate(token: string | undefined | null): Promise<Session | null> {
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    const dot = token.indexOf(".");
    if (dot <= 0) return null;
    const id = token.slice(0, dot);
    const secret = token.slice(dot + 1);
    const stored = await this.lookup(id);
    if (!stored) return null;
    const given = hashSecret(secret);
    if (given.length !== stored.secretHash.length || !timingSafeEqual(given, stored.secretHash)) return null;
    const now = Date.now();
    if (now >= stored.expiresAt) {
      this.forget(stored.user.id, id);
      await this.store.delete(id, stored.user.id);
      return null;
    }
    let expiresAt = stored.expiresAt;
    if (now - (expiresAt - SESSION_TTL_MS) >= SLIDE_INTERVAL_MS) {
      expiresAt = now + SESSION_TTL_MS;
      stored.expiresAt = expiresAt;
      await this.store.extend(id, expiresAt);
      return { id, user: stored.user, expiresAt, secret, renewed: true };
    }
    return { id, user: stored.user, expiresAt, secret };
  }

  /**
   * The stored session, from a short-lived copy when this instance read it a moment ago: a
   * page and its scripts ask with the same token many times a second. A logout anywhere is
   * broadcast to every instance, which drop their copy at once (forget).
   */
  private async lookup(id: string): Promise<StoredSession | null> {
    const now = Date.now();
    const hit = this.recent.get(id);
    if (hit && hit.until > now) return hit.stored;
    const stored = await this.store.get(id);
    if (stored) {
      if (this.recent.size >= CACHE_MAX) this.recent.delete(this.recent.keys().next().value!);
      this.recent.set(id, { stored, until: now + CACHE_MS });
    } else this.recent.delete(id);
    return stored;
  }

  private readonly recent = new Map<string, { stored: StoredSession; until: number }>();

  /** Drops every copy: after Redis came back (perhaps empty), nothing held may be trusted. */
  forgetAll(): void {
    this.recent.clear();
  }

  /** Drops this instance's copy of a session (or of all of a person's). */
  forget(userId: number, sessionId: string | null): void {
    if (sessionId !== null) {
      this.recent.delete(sessionId);
      return;
    }
    for (const [id, { stored }] of this.recent) if (stored.user.id === userId) this.recent.delete(id);
  }

  async invalidate(session: Session): Promise<void> {
    this.forget(session.user.id, session.id);
    await this.store.delete(session.id, session.user.id);
    this.revoked(session.user.id, session.id);
  }

  /** Drops expired sessions from the store; run now and then. */
  sweep(): Promise<void> {
    return this.store.sweep();
  }

  /** "Log out everywhere". */
  async invalidateAll(userId: number): Promise<void> {
    this.forget(userId, null);
    await this.store.deleteForUser(userId);
    this.revoked(userId, null);
  }
}

export function databaseSessionStore(db: Db): SessionStore {
  return {
    put: async (s) => {
      await q.insert(db, s.id, s.secretHash, s.user.id, new Date(s.expiresAt).toISOString());
    },
    get: async (id) => {
      const [row] = await q.find(db, id);
      if (!row) return null;
      return {
        id: row.id,
        secretHash: new Uint8Array(row.secretHash),
        user: { id: row.userId, username: row.username },
        expiresAt: Date.parse(row.expiresAt),
      };
    },
    extend: async (id, expiresAt) => {
      await q.extend(db, id, new Date(expiresAt).toISOString());
    },
    delete: async (id) => {
      await q.delete(db, id);
    },
    deleteForUser: async (userId) => {
      await q.deleteForUser(db, userId);
    },
    sweep: async () => {
      await q.deleteExpired(db);
    },
  };
}

export function redisSessionStore(redis: Redis, keys: RedisNames): SessionStore {
  return {
    put: async (s) => {
      await redis
        .multi()
        .hset(keys.session(s.id), { u: s.user.id, n: s.user.username, h: Buffer.from(s.secretHash).toString("base64"), e: s.expiresAt })
        .pexpireat(keys.session(s.id), s.expiresAt)
        .sadd(keys.userSessions(s.user.id), s.id)
        .pexpire(keys.userSessions(s.user.id), SESSION_TTL_MS)
        .exec();
    },
    get: async (id) => {
      const h = await redis.hgetall(keys.session(id));
      if (!h.u || !h.n || !h.h || !h.e) return null;
      return {
        id,
        secretHash: new Uint8Array(Buffer.from(h.h, "base64")),
        user: { id: Number(h.u), username: h.n },
        expiresAt: Number(h.e),
      };
    },
    extend: async (id, expiresAt) => {
      const userId = await redis.hget(keys.session(id), "u");
      if (!userId) return;
      await redis
        .multi()
        .hset(keys.session(id), "e", expiresAt)
        .pexpireat(keys.session(id), expiresAt)
        // The person's set of sessions lives as long as the longest of them.
        .pexpire(keys.userSessions(Number(userId)), SESSION_TTL_MS)
        .exec();
    },
    delete: async (id, userId) => {
      await redis.multi().del(keys.session(id)).srem(keys.userSessions(userId), id).exec();
    },
    deleteForUser: async (userId) => {
      const ids = await redis.smembers(keys.userSessions(userId));
      await redis.del(keys.userSessions(userId), ...ids.map(keys.session));
    },
    sweep: async () => {},
  };
}
