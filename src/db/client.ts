// One small interface over the two ways Parley reaches PostgreSQL: a real server through
// postgres.js, or the embedded PGlite in DATA_DIR. The same SQL files run on both.
import postgres from "postgres";
import { accessSync, constants, mkdirSync } from "node:fs";
import { ConfigError } from "../config.ts";
import { pgliteFiles } from "./pglite-files.ts";
import pingSql from "../../sql/queries/schema/ping.sql" with { type: "text" };
import sessionSql from "../../sql/queries/schema/session.sql" with { type: "text" };
import { resolve } from "node:path";

export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Several statements separated by semicolons, no parameters: migrations only. */
  script(text: string): Promise<void>;
}

export interface Db extends Sql {
  readonly kind: "postgres" | "embedded";
  /** Runs fn in one transaction: commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

// Identity columns and count(*) are int8; every id and count in Parley fits a double,
// and clients want numbers, not strings. Times go out as ISO 8601 in UTC, as the API says.
const INT8 = 20;
const TIMESTAMPTZ = 1184;
const toIso = (value: string) => new Date(value).toISOString();

export interface PostgresOptions {
  /** Pool size; the send path holds one connection per transaction in flight. */
  max?: number;
}

export function connectPostgres(url: string, options: PostgresOptions = {}): Db {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // A transaction left open (a stuck client, a bug) is ended after a minute, so it cannot hold
    // thread locks for long; the feed's resume overlap (chat/feed.ts) relies on this bound.
    // Each statement is planned once per connection, never per execution: planning the send
    // statement took longer than running it. Every query is written to read by key under such
    // a plan (test/plans.test.ts plans each one exactly this way).
    connection: { TimeZone: "UTC", application_name: "parley", idle_in_transaction_session_timeout: 60_000, plan_cache_mode: "force_generic_plan" },
    types: {
      int8: { to: INT8, from: [INT8], serialize: (v: number) => String(v), parse: (v: string) => Number(v) },
      timestamptz: { to: TIMESTAMPTZ, from: [TIMESTAMPTZ], serialize: (v: string | Date) => (v instanceof Date ? v.toISOString() : v), parse: toIso },
    },
  });
  const wrap = (conn: postgres.Sql | postgres.TransactionSql): Sql => ({
    // postgres.js sends a query when it is first awaited; executing it at once puts it on its
    // way now, in the order written, whoever awaits it later.
    query: <R>(text: string, params: readonly unknown[] = []) =>
      conn.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true }).execute() as unknown as Promise<R[]>,
    script: async (text) => {
      await conn.unsafe(text);
    },
  });
  return {
    kind: "postgres",
    ...wrap(sql),
    transaction: <T>(fn: (tx: Sql) => Promise<T>) => sql.begin((tx) => fn(wrap(tx))) as Promise<T>,
    ping: async () => {
      await sql.unsafe(pingSql);
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

export async function openEmbedded(dataDir: string): Promise<Db> {
  const [{ PGlite, types }, files] = await Promise.all([import("@electric-sql/pglite"), pgliteFiles()]);
  const dir = resolve(dataDir, "pg");
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new ConfigError("DATA_DIR", `cannot be used for the embedded database (${dir}): ${(err as Error).message}`);
  }
  const pg = await PGlite.create(dir, {
    parsers: { [types.INT8]: (v: string) => Number(v), [types.TIMESTAMPTZ]: toIso },
    ...files,
  });
  await pg.exec(sessionSql);
  const wrap = (conn: Pick<typeof pg, "query" | "exec">): Sql => ({
    query: async <R>(text: string, params: readonly unknown[] = []) => (await conn.query<R>(text, params as unknown[])).rows,
    script: async (text) => {
      await conn.exec(text);
    },
  });
  return {
    kind: "embedded",
    ...wrap(pg),
    transaction: <T>(fn: (tx: Sql) => Promise<T>) => pg.transaction((tx) => fn(wrap(tx))),
    ping: async () => {
      await pg.query(pingSql);
    },
    close: () => pg.close(),
  };
}
