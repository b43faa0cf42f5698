// Boot from the environment, and stop gracefully on SIGTERM or SIGINT (systemd, Ctrl+C):
// after DRAIN_SECONDS (if set), clients are told to reconnect (1012), in-flight sends
// finish, and the process exits within 10 s more.
import { loadConfig, ConfigError, type Config } from "./config.ts";
import { start, type Running } from "./server.ts";

/** systemd's default stop timeout is 90 s; the promise to operators is 10. */
const EXIT_DEADLINE_MS = 10_000;

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}

let running: Running;
try {
  running = await start(config);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}
const { log } = running.core;
const shown = config.host.includes(":") ? `[${config.host}]` : config.host;
log.info(`listening on http://${shown}:${running.port}`);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, async () => {
    log.info(`${signal}: stopping`);
    setTimeout(() => {
      log.error("stop took too long: exiting anyway");
      process.exit(1);
    }, config.drainMs + EXIT_DEADLINE_MS).unref();
    await running.stop();
    log.info("stopped");
    process.exit(0);
  });
}
