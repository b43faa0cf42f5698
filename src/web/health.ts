// GET /healthz: 200 when every backing service answers, 503 naming what is down. Caddy's
// active health checks use it to take an instance out of rotation.
import type { Core } from "../core.ts";

/** A health check that hangs is a failed one; Caddy's own check times out too. */
const CHECK_TIMEOUT_MS = 2000;

type Check = "ok" | "down";

async function check(probe: () => Promise<unknown>): Promise<Check> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return "ok";
  } catch {
    return "down";
  } finally {
    clearTimeout(timer);
  }
}

export async function health(core: Core) {
  const [database, redis] = await Promise.all([
    check(() => core.db.ping()),
    core.redis ? check(async () => {
      await core.redis!.ping();
      if (!core.bus.healthy()) throw new Error("bus link down");
    }) : Promise.resolve("not configured" as const),
  ]);
  const ok = database === "ok" && redis !== "down" && !core.draining;
  return {
    status: core.draining ? ("draining" as const) : ok ? ("ok" as const) : ("unavailable" as const),
    instance: core.config.instanceName,
    database: { status: database, kind: core.db.kind },
    redis: { status: redis },
    topics: core.fanout.topicCount(),
  };
}
