// Every query finds its rows by key, whatever plan PostgreSQL has cached for it. postgres.js
// prepares each statement once per connection, and after a few runs PostgreSQL may keep a
// generic plan made from the table sizes of that moment. One made while a table was small
// hash-joins over a scan of the whole table, and keeps doing so as the table grows, until an
// ANALYZE happens to throw it away: the relay slowed with every message stored that way.
// So each query is planned here the worst way, generic, on the test's nearly empty tables.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { embedded, startServer, type TestServer } from "./helpers/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const QUERIES = join(import.meta.dir, "../sql/queries");
/** The tables that grow with use; a scan of the others (the schema ledger) costs nothing. */
const GROWING = /Seq Scan on (messages|threads|thread_members|blocks|users|sessions)\b/;
/** Queries meant to read a whole table, and why. */
const WHOLE_TABLE: Record<string, RegExp> = {
  // Housekeeping once an hour (core.ts), off any request's path: it looks at every session.
  "sessions/delete_expired.sql": /Seq Scan on sessions\b/,
};

/**
 * The tables as a new installation has them: empty. The test database is shared by the whole
 * run, so its tables hold what the other files left; emptied inside the transaction (and
 * rolled back with it), the planner sees them as a first start does.
 */
const EMPTY = "TRUNCATE users, threads CASCADE;";
/**
 * A small installation's tables, analyzed: 600 people, 1:1s and twice as many memberships. At
 * this size a plan may prefer to scan a table whole and test each row against an array of
 * ids ("id = ANY ($1)"), or hash-join a table it could probe: a cost that grows with the table
 * (and with the batch, on the send path) until the table is big enough for the planner to
 * change its mind. It did so in the relay benchmark.
 */
const SMALL_INSTALLATION = `${EMPTY}
  INSERT INTO users (username, password_hash) SELECT 'plan_' || g, 'x' FROM generate_series(1, 600) g;
  INSERT INTO threads (kind, direct_key) SELECT 'direct', 'plan:' || g FROM generate_series(1, 600) g;
  INSERT INTO thread_members (thread_id, user_id)
    SELECT t.id, u.id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM threads) t
    JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users) u ON u.n IN (t.n, t.n % 600 + 1);
  ANALYZE users, threads, thread_members;
`;

const SIZES = [
  ["nearly empty", EMPTY],
  ["at a small installation's size (600 people and 1:1s, analyzed)", SMALL_INSTALLATION],
] as const;

test("the server plans each statement once per session, generic, on either database", async () => {
  // What the tests below assume of every plan; on the embedded database it also keeps the
  // send function from planning its batch afresh on every call.
  const rows = await server.running.core.db.query<{ plan_cache_mode: string }>("SHOW plan_cache_mode");
  expect(rows[0]?.plan_cache_mode).toBe("force_generic_plan");
});

test.each(SIZES)("every query in sql/queries reads the growing tables by key under a generic plan made while they were %s", async (_size, fill) => {
  const files = readdirSync(QUERIES)
    .filter((dir) => dir !== "schema") // migrations' bookkeeping, run once at start-up
    .flatMap((dir) => readdirSync(join(QUERIES, dir)).map((file) => `${dir}/${file}`))
    .sort();
  expect(files.length).toBeGreaterThan(40);
  const scans: Record<string, string[]> = {};
  await server.running.core.db
    .transaction(async (tx) => {
      await tx.script(fill);
      await tx.script("SET LOCAL plan_cache_mode = force_generic_plan");
      for (const [i, file] of files.entries()) {
        const text = readFileSync(join(QUERIES, file), "utf8");
        const params = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
        // The plan of a generic statement does not depend on the values: nulls will do.
        await tx.script(`PREPARE plan_check_${i} AS ${text}`);
        const args = params > 0 ? `(${Array(params).fill("NULL").join(", ")})` : "";
        const plan = await tx.query<{ "QUERY PLAN": string }>(`EXPLAIN EXECUTE plan_check_${i}${args}`);
        await tx.script(`DEALLOCATE plan_check_${i}`);
        const found = plan
          .map((row) => row["QUERY PLAN"].trim())
          .filter((line) => GROWING.test(line) && !WHOLE_TABLE[file]?.test(line));
        if (found.length > 0) scans[file] = found;
      }
      throw new Error("roll back"); // EXPLAIN runs nothing, but leave no trace anyway
    })
    .catch((err: Error) => {
      if (err.message !== "roll back") throw err;
    });
  expect(scans).toEqual({});
});

/**
 * The send path runs inside a function (sql/migrations/0006_send_function.sql), whose
 * statements EXPLAIN does not show: PostgreSQL's auto_explain prints each one's plan as it
 * runs, here as notices, under the same generic plans. On real PostgreSQL only: the embedded
 * one has no auto_explain, and plans the same way.
 */
test.skipIf(embedded).each(SIZES)("the send function's statements read the growing tables by key under generic plans made while they were %s", async (_size, fill) => {
  const plans: string[] = [];
  const sql = postgres(process.env.PARLEY_TEST_DATABASE_URL!, { max: 1, onnotice: (notice) => plans.push(notice.message ?? "") });
  const sendQuery = readFileSync(join(QUERIES, "messages/send.sql"), "utf8");
  try {
    await sql
      .begin(async (tx) => {
        await tx.unsafe(fill);
        await tx.unsafe(`SET LOCAL plan_cache_mode = force_generic_plan;
          LOAD 'auto_explain';
          SET LOCAL auto_explain.log_min_duration = 0;
          SET LOCAL auto_explain.log_nested_statements = on;
          SET LOCAL auto_explain.log_level = notice;`);
        // A generic plan does not depend on the values: a send into no thread runs every statement.
        await tx.unsafe(sendQuery, [[0], [0], ["plan check"], ["plan-check"], false] as never[]);
        throw new Error("roll back");
      })
      .catch((err: Error) => {
        if (err.message !== "roll back") throw err;
      });
  } finally {
    await sql.end();
  }
  // The lock, the batch and the call itself.
  expect(plans.filter((plan) => /Query Text:/.test(plan)).length).toBeGreaterThanOrEqual(3);
  expect(plans.flatMap((plan) => plan.split("\n").filter((line) => GROWING.test(line)))).toEqual([]);
});
