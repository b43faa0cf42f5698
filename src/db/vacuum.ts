// The embedded database has no autovacuum: PGlite runs PostgreSQL as one process, without the
// background workers that vacuum a server's tables. Left alone it would never make the space of
// deleted and updated rows reusable (sessions swept, read markers and thread heads moved on
// every message), and never freeze old transaction ids: after about two billion write
// transactions the ids wrap around and old rows drop out of sight. So Parley vacuums it itself,
// once an hour: a plain VACUUM of the whole database, which after its first pass reads only the
// pages changed since (the visibility map), and reads a table whole only when its oldest
// unfrozen id calls for it, as autovacuum would. It holds the embedded database (and so this
// process's one thread) while it runs; the log says how long (waiting for a transaction in
// flight included). PostgreSQL proper vacuums itself.
import type { Db } from "./client.ts";
import type { Logger } from "../log.ts";
import { schema } from "./queries.ts";

export const VACUUM_EVERY_MS = 3600_000;

/** Vacuums the whole database; resolves with how long it took, in milliseconds. */
export async function vacuum(db: Db): Promise<number> {
  const started = performance.now();
  await schema.vacuum(db);
  return performance.now() - started;
}

/**
 * Vacuums an embedded database every `everyMs` until the returned function is called. Not at
 * start-up: a vacuum records how many rows each table has, and a table it finds empty (a new
 * installation's messages) is then planned as empty, read whole by the plans cached meanwhile,
 * until the next one (test/plans.test.ts failed on exactly that). An hour in, the tables have
 * rows, and their plans read by key as they grow.
 */
export function keepVacuumed(db: Db, log: Logger, everyMs = VACUUM_EVERY_MS): () => void {
  if (db.kind !== "embedded") return () => {};
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    vacuum(db)
      .then(
        (ms) => log.info(`vacuumed the embedded database in ${Math.round(ms)} ms`),
        (err: Error) => log.warn(`vacuum: ${err.message}`),
      )
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
