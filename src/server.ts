// Starting and stopping one Parley instance. main.ts calls this with the environment's
// configuration; the tests call it with theirs, so both run exactly the same wiring.
import type { Config } from "./config.ts";
import { createCore, type Core } from "./core.ts";
import { createApp, type App, type AppOptions } from "./app.ts";
import { loadAssets } from "./web/assets.ts";
import { CLOSE } from "./realtime/live.ts";

/** A graceful stop gives up waiting after this long and closes what is left. */
const STOP_GRACE_MS = 8000;

export interface Running {
  core: Core;
  app: App;
  port: number;
  /**
   * Drain (serve on while /healthz says so, if DRAIN_SECONDS), stop accepting, close sockets
   * with 1012, let in-flight sends finish, close backends.
   */
  stop(): Promise<void>;
}

export async function start(config: Config, options: AppOptions = {}): Promise<Running> {
  await loadAssets();
  const core = await createCore(config);
  const app = createApp(core, options).listen({ port: config.port, hostname: config.host });
  const server = app.server!;
  core.hub = server;
  let stopping: Promise<void> | null = null;
  return {
    core,
    app,
    port: server.port!,
    stop: () =>
      (stopping ??= (async () => {
        // A balancer that still sends here would have requests meet closing connections
        // (and Caddy 2.6 then cannot retry a POST elsewhere): let its health check see us go.
        core.draining = true;
        if (config.drainMs > 0) {
          core.log.info(`draining for ${config.drainMs / 1000} s`);
          await Bun.sleep(config.drainMs);
        }
        // Stop accepting first, so clients told to reconnect cannot land here again; then
        // close sockets and streams, which a graceful stop would otherwise wait for forever.
        const graceful = server.stop(false);
        core.live.closeAll(CLOSE.restarting, "server restarting: reconnect and resume");
        // A timer cleared once the stop is done: a process that stops its server and goes on
        // (or means to exit) is not held up to STOP_GRACE_MS by it.
        let grace: ReturnType<typeof setTimeout> | undefined;
        const timedOut = await Promise.race([
          graceful.then(() => false),
          new Promise<boolean>((resolve) => (grace = setTimeout(() => resolve(true), STOP_GRACE_MS))),
        ]).finally(() => clearTimeout(grace));
        if (timedOut) await server.stop(true);
        await core.close();
      })()),
  };
}
