// Parley processes for adversarial tests: each its own process, so that a crash is seen (and
// counted) rather than taking the test run down with it.
import { rmSync } from "node:fs";
import { freshDataDir, embedded, type TestServer } from "../helpers/server.ts";
import { spawnInstance, type Instance } from "../helpers/cluster.ts";
import { count } from "./tally.ts";

/** api(), signup() and friends only need a URL. */
export const at = (url: string) => ({ url, origin: url, wsUrl: url.replace(/^http/, "ws") + "/api/v1/ws" }) as TestServer;

/**
 * What an instance needs to keep its data across restarts in embedded mode; `cleanups` (run in
 * reverse at the end of the file, after the instances are killed) removes the folder.
 */
export function storage(cleanups: (() => unknown)[]): Record<string, string> {
  if (!embedded) return {};
  const dir = freshDataDir();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { DATA_DIR: dir };
}

/**
 * Starts an instance whose death is a crash unless the test itself stopped it; `cleanups`
 * gets a kill for the end of the file.
 */
export async function spawnWatched(name: string, cleanups: (() => unknown)[], options: { port?: number; env?: Record<string, string> } = {}): Promise<Instance> {
  const state = { stopping: false };
  const instance = await spawnInstance({ name, ...options });
  void instance.process.exited.then((code) => {
    if (state.stopping) return;
    count("crashes");
    console.error(`${name} exited by itself (${code}):\n${instance.output().slice(-2000)}`);
  });
  const stop = instance.stop.bind(instance);
  instance.stop = (signal) => {
    state.stopping = true;
    return stop(signal);
  };
  cleanups.push(() => instance.stop("SIGKILL"));
  return instance;
}
