// Preloaded once per `bun test` run (bunfig.toml).
// - With DATABASE_URL: a fresh database for this run, dropped at the end, so runs never
//   see each other's rows (and Redis keys, which carry the database's installation id, and
//   are deleted with it).
// - Without: a migrated PGlite data folder made once, which each test server copies, so
//   each starts in well under a second instead of running initdb.
import { afterAll, beforeAll } from "bun:test";
import postgres from "postgres";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbedded } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { dropRedisKeys } from "../bench/redis-keys.ts";

const adminUrl = process.env.DATABASE_URL;
let testDb: string | null = null;

beforeAll(async () => {
  if (adminUrl) {
    testDb = `parley_test_${process.pid}_${Date.now().toString(36)}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${testDb}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${testDb}`;
    process.env.PARLEY_TEST_DATABASE_URL = url.toString();
  } else {
    const template = mkdtempSync(join(tmpdir(), "parley-template-"));
    const db = await openEmbedded(template);
    await migrate(db);
    await db.close();
    process.env.PARLEY_TEST_TEMPLATE = template;
  }
});

afterAll(async () => {
  if (adminUrl && testDb) {
    if (process.env.REDIS_URL) await dropRedisKeys(process.env.REDIS_URL, process.env.PARLEY_TEST_DATABASE_URL!).catch(() => {});
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`DROP DATABASE IF EXISTS ${testDb} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
  if (process.env.PARLEY_TEST_TEMPLATE) rmSync(process.env.PARLEY_TEST_TEMPLATE, { recursive: true, force: true });
});
