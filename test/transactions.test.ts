// The send path's pipelined transactions (db.pipelined): BEGIN travels with the first
// statements and COMMIT with the last, and still the transaction is one transaction: its lock
// holds until the commit, and a statement that fails takes the whole of it back.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connectPostgres, openEmbedded, type Db } from "../src/db/client.ts";
import { embedded, freshDataDir } from "./helpers/server.ts";
import { rmSync } from "node:fs";

// Two separate pools stand for two instances; the embedded database has one connection.
let first: Db;
let second: Db;
let dataDir: string | null = null;
const table = `pipelined_${Date.now().toString(36)}`;

beforeAll(async () => {
  if (embedded) {
    dataDir = freshDataDir();
    first = second = await openEmbedded(dataDir);
  } else {
    first = connectPostgres(process.env.PARLEY_TEST_DATABASE_URL!, { max: 4 });
    second = connectPostgres(process.env.PARLEY_TEST_DATABASE_URL!, { max: 4 });
  }
  await first.script(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL); INSERT INTO ${table} VALUES (1, 0)`);
});

afterAll(async () => {
  await first.script(`DROP TABLE IF EXISTS ${table}`);
  await first.close();
  if (second !== first) await second.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const count = async () => (await first.query<{ n: number }>(`SELECT n FROM ${table} WHERE id = 1`))[0]!.n;

/** Read under a row lock, then write what was read plus one, with the COMMIT in the same round trip. */
const increment = (db: Db) =>
  db.pipelined(async (tx) => {
    const [[row]] = await Promise.all([
      tx.query<{ n: number }>(`SELECT n FROM ${table} WHERE id = 1 FOR UPDATE`),
      tx.query(`SELECT 1`),
    ]);
    const written = tx.query(`UPDATE ${table} SET n = $1 WHERE id = 1`, [row!.n + 1]);
    await Promise.all([written, tx.commit()]);
  });

describe("a pipelined transaction", () => {
  test("holds its lock until its commit: concurrent read-then-write increments lose nothing", async () => {
    const before = await count();
    await Promise.all([first, second].map(async (db) => {
      for (let i = 0; i < 150; i++) await increment(db);
    }));
    expect(await count()).toBe(before + 300);
  });

  test("a statement that fails before the commit takes back everything before it", async () => {
    const before = await count();
    const attempt = first.pipelined(async (tx) => {
      const written = tx.query(`UPDATE ${table} SET n = n + 100 WHERE id = 1`);
      const failing = tx.query(`INSERT INTO ${table} VALUES (1, 0)`); // the primary key is taken
      await Promise.all([written, failing, tx.commit()]);
    });
    await expect(attempt).rejects.toMatchObject({ code: "23505" });
    expect(await count()).toBe(before);
    // The connection went back to the pool usable, outside any transaction.
    await increment(first);
    expect(await count()).toBe(before + 1);
  });

  test("commits on its own when fn did not, and rolls back when fn throws", async () => {
    const before = await count();
    await first.pipelined(async (tx) => {
      await tx.query(`UPDATE ${table} SET n = n + 1 WHERE id = 1`);
    });
    expect(await count()).toBe(before + 1);
    const thrown = first.pipelined(async (tx) => {
      await tx.query(`UPDATE ${table} SET n = n + 1 WHERE id = 1`);
      throw new Error("changed my mind");
    });
    await expect(thrown).rejects.toThrow("changed my mind");
    expect(await count()).toBe(before + 1);
  });
});
