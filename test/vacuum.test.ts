// The embedded database has no autovacuum of its own; Parley vacuums it on a timer
// (src/db/vacuum.ts). What a user would otherwise meet, months in: space never reused, and
// after some two billion write transactions, old messages gone from sight.
import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { openEmbedded, type Db } from "../src/db/client.ts";
import { keepVacuumed, vacuum } from "../src/db/vacuum.ts";
import { embedded, freshDataDir } from "./helpers/server.ts";

let db: Db | null = null;
let dir: string | null = null;
afterEach(async () => {
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  db = dir = null;
});

async function open(): Promise<Db> {
  dir = freshDataDir();
  db = await openEmbedded(dir);
  return db;
}

/** Write transactions of the kinds Parley makes: rows in, rows changed, rows deleted. */
async function churn(db: Db, n: number): Promise<void> {
  const [user] = await db.query<{ id: number }>("INSERT INTO users (username, password_hash) VALUES ('churner', 'x') RETURNING id");
  for (let i = 0; i < n; i++) {
    await db.query("INSERT INTO sessions (id, secret_hash, user_id, expires_at) VALUES ($1, '\\x00', $2, now())", [`s${i}`, user!.id]);
    await db.query("DELETE FROM sessions WHERE id = $1", [`s${i}`]);
  }
}

const vacuums = async (db: Db) =>
  Object.fromEntries(
    (await db.query<{ relname: string; vacuum_count: number }>("SELECT relname, vacuum_count::int AS vacuum_count FROM pg_stat_user_tables ORDER BY relname")).map((r) => [
      r.relname,
      r.vacuum_count,
    ]),
  );

test.skipIf(!embedded)("an embedded database is vacuumed on its timer, every table of it, until the timer is stopped", async () => {
  const db = await open();
  await churn(db, 50);
  const before = await vacuums(db);
  expect(Object.keys(before)).toEqual(expect.arrayContaining(["messages", "sessions", "thread_members", "threads", "users"]));
  expect(Object.values(before).every((n) => n === 0)).toBe(true);

  const lines: string[] = [];
  const log = { debug: () => {}, info: (l: string) => lines.push(l), warn: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
  const stop = keepVacuumed(db, log, 100);
  const deadline = Date.now() + 10_000;
  while (lines.length < 2 && Date.now() < deadline) await Bun.sleep(20);
  stop();
  expect(lines.length).toBeGreaterThanOrEqual(2);
  expect(lines.every((l) => /^vacuumed the embedded database in \d+ ms$/.test(l))).toBe(true);
  await Bun.sleep(150); // one in flight when stopped may still finish
  const after = await vacuums(db);
  expect(Object.values(after).every((n) => n >= 2)).toBe(true);

  await Bun.sleep(400);
  expect(await vacuums(db)).toEqual(after);
});

test.skipIf(!embedded)("the vacuum takes in the catalogs too, so the database's oldest transaction id moves on", async () => {
  const db = await open();
  await churn(db, 100);
  const age = async () => (await db.query<{ age: number }>("SELECT age(datfrozenxid)::int AS age FROM pg_database WHERE datname = current_database()"))[0]!.age;
  const before = await age();
  expect(before).toBeGreaterThan(200);
  // As an aggressive vacuum does when the ids grow old (vacuum_freeze_table_age): freeze all.
  await db.script("SET vacuum_freeze_min_age = 0; SET vacuum_freeze_table_age = 0");
  await vacuum(db);
  // Only if every table, the catalogs among them, was frozen does the database's horizon move.
  expect(await age()).toBeLessThan(10);
});
