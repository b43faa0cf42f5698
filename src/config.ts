// The only reader of process.env. Everything is validated here, once, at boot:
// a bad value stops start-up with a message that names the variable.

import { isIP } from "node:net";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface Config {
  readonly port: number;
  readonly host: string;
  /** postgres://… or null for the embedded PGlite under dataDir. */
  readonly databaseUrl: string | null;
  /** redis://… or null to keep sessions, counters and topics in the process. */
  readonly redisUrl: string | null;
  readonly dataDir: string;
  /** Extra origins allowed to open sockets and post forms, besides the server's own. */
  readonly allowedOrigins: readonly string[];
  readonly logLevel: LogLevel;
  /** Names this instance in logs and /healthz; defaults to the process id. */
  readonly instanceName: string;
  /** Multiplies every rate limit (auth/rate-limit.ts); 0 turns them off. */
  readonly rateLimitScale: number;
  /**
   * Behind a load balancer: how long a stopping instance keeps serving while /healthz says
   * "draining", so the balancer stops sending before any connection closes. 0 alone.
   */
  readonly drainMs: number;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`configuration: ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

function port(env: Env): number {
  const raw = env.PORT?.trim() || "3000";
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new ConfigError("PORT", `must be a port number 0–65535, got "${raw}"`);
  return Number(raw);
}

function url(env: Env, name: string, protocols: readonly string[]): string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, "is not a valid URL");
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => p + "//").join(" or ")}`);
  }
  return raw;
}

function origins(env: Env): string[] {
  const raw = env.ALLOWED_ORIGINS?.trim();
  if (!raw) return [];
  return raw.split(",").map((item) => {
    const value = item.trim();
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError("ALLOWED_ORIGINS", `has "${value}", which is not an origin like https://chat.example.com`);
    }
    // An origin is scheme://host[:port] and nothing else; anything more would never match a browser's Origin.
    if (parsed.origin !== value.replace(/\/$/, "")) {
      throw new ConfigError("ALLOWED_ORIGINS", `has "${value}"; give only scheme://host[:port]`);
    }
    return parsed.origin;
  });
}

function scale(env: Env): number {
  const raw = env.RATE_LIMIT_SCALE?.trim() || "1";
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new ConfigError("RATE_LIMIT_SCALE", `must be a number ≥ 0, got "${raw}"`);
  return value;
}

function drain(env: Env): number {
  const raw = env.DRAIN_SECONDS?.trim() || "0";
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 60) throw new ConfigError("DRAIN_SECONDS", `must be a number of seconds from 0 to 60, got "${raw}"`);
  return Math.round(value * 1000);
}

export function loadConfig(env: Env = process.env): Config {
  const logLevel = (env.LOG_LEVEL?.trim() || "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError("LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}`);
  const host = env.HOST?.trim() || "::";
  if (!isIP(host) && !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
    throw new ConfigError("HOST", `must be an IP address or a host name, got "${host}"`);
  }
  const dataDir = env.DATA_DIR?.trim() || "./data";
  return Object.freeze({
    port: port(env),
    host,
    databaseUrl: url(env, "DATABASE_URL", ["postgres:", "postgresql:"]),
    redisUrl: url(env, "REDIS_URL", ["redis:", "rediss:"]),
    dataDir,
    allowedOrigins: Object.freeze(origins(env)),
    logLevel,
    instanceName: env.INSTANCE_NAME?.trim() || `${process.pid}`,
    rateLimitScale: scale(env),
    drainMs: drain(env),
  });
}
