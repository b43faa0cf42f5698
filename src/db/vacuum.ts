// The embedded database has no autovacuum: PGlite runs PostgreSQL as one process, without the
// background workers that vacuum a server's tables. Left alone it would never make the space of
// deleted and updated rows reusable (sessions swept, read markers and thread heads moved on
// every message), and never freeze old transaction ids: after about two billion write
// transactions the ids wrap around and old rows drop out of sight. So Parley vacuums it itself,
// at start-up and once an hour: a plain VACUUM of the whole database, which after its first pass reads only the
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
 * Vacuums an embedded database now, then every `everyMs` until the returned function is
 * called. The first pass comes before the server listens: on a database never vacuumed (one
 * from before this was done, or restored from a copy) it reads every table whole, and better at
 * start-up than in the middle of traffic.
 */
export async function keepVacuumed(db: Db, log: Logger, everyMs = VACUUM_EVERY_MS): Promise<() => void> {
  if (db.kind !== "embedded") return () => {};
  const report = (ms: number) => log.info(`vacuumed the embedded database in ${Math.round(ms)} ms`);
  report(await vacuum(db));
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    vacuum(db)
      .then(report, (err: Error) => log.warn(`vacuum: ${err.message}`))
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
