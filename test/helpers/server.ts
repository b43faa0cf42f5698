// A real Parley instance on a real port, configured the way this test run was started:
// against PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set, embedded otherwise.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { start, type Running } from "../../src/server.ts";

export const embedded = !process.env.DATABASE_URL;
export const withRedis = !!process.env.REDIS_URL;

export interface TestServer {
  running: Running;
  url: string;
  origin: string;
  wsUrl: string;
  dataDir: string | null;
  stop(): Promise<void>;
}

/** A fresh embedded data folder, copied from the run's migrated template. */
export function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "parley-data-"));
  cpSync(process.env.PARLEY_TEST_TEMPLATE!, dir, { recursive: true });
  return dir;
}

export async function startServer(
  options: { dataDir?: string; env?: Record<string, string>; keepData?: boolean; idleTimeoutS?: number; port?: number } = {},
): Promise<TestServer> {
  const dataDir = embedded ? (options.dataDir ?? freshDataDir()) : null;
  const config = loadConfig({
    PORT: String(options.port ?? 0),
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "error",
    // One address signing up and writing for hundreds of people: limits scaled up, still on.
    RATE_LIMIT_SCALE: "1000",
    ...(embedded ? { DATA_DIR: dataDir! } : { DATABASE_URL: process.env.PARLEY_TEST_DATABASE_URL! }),
    ...(withRedis ? { REDIS_URL: process.env.REDIS_URL! } : {}),
    ...options.env,
  });
  const running = await start(config, { idleTimeoutS: options.idleTimeoutS });
  const origin = `http://127.0.0.1:${running.port}`;
  return {
    running,
    url: origin,
    origin,
    wsUrl: `ws://127.0.0.1:${running.port}/api/v1/ws`,
    dataDir,
    stop: async () => {
      await running.stop();
      if (dataDir && !options.keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
