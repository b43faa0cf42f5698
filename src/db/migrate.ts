// Numbered, forward-only migrations, each in its own transaction. Several instances may
// start at once: a transaction-scoped advisory lock lets one apply a migration while the
// others wait, then find it recorded and move on. Migrating twice changes nothing.
import type { Db } from "./client.ts";
import { schema } from "./queries.ts";
import m0001 from "../../sql/migrations/0001_core.sql" with { type: "text" };
import m0002 from "../../sql/migrations/0002_feed.sql" with { type: "text" };
import m0003 from "../../sql/migrations/0003_groups_blocks.sql" with { type: "text" };
import m0004 from "../../sql/migrations/0004_hot_threads.sql" with { type: "text" };
import m0005 from "../../sql/migrations/0005_lean_messages.sql" with { type: "text" };
import m0006 from "../../sql/migrations/0006_send_function.sql" with { type: "text" };
import m0007 from "../../sql/migrations/0007_list_changes.sql" with { type: "text" };

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "core", sql: m0001 },
  { version: 2, name: "feed", sql: m0002 },
  { version: 3, name: "groups_blocks", sql: m0003 },
  { version: 4, name: "hot_threads", sql: m0004 },
  { version: 5, name: "lean_messages", sql: m0005 },
  { version: 6, name: "send_function", sql: m0006 },
  { version: 7, name: "list_changes", sql: m0007 },
];

// Any constant works as long as every instance uses the same one ("parley" in ASCII).
const LOCK_KEY = 0x7061726c6579;

export async function migrate(db: Db, log: (line: string) => void = () => {}): Promise<number> {
  let applied = 0;
  for (const migration of MIGRATIONS) {
    const done = await db.transaction(async (tx) => {
      await schema.lock(tx, LOCK_KEY);
      await schema.ledger(tx);
      if ((await schema.applied(tx, migration.version)).length > 0) return false;
      log(`migration ${migration.version} (${migration.name}): applying`);
      await tx.script(migration.sql);
      await schema.record(tx, migration.version, migration.name);
      return true;
    });
    if (done) applied++;
  }
  log(`migrations: ${applied} applied, ${MIGRATIONS.length - applied} already in place`);
  return applied;
}
