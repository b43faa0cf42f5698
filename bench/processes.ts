// The processes a benchmark measures: Parley instances (as `bun src/main.ts`, the way they
// run in production), and a bare Bun server for the baselines. Each in its own process, so
// their CPU and memory are theirs alone, apart from the load generator's.
import { join } from "node:path";
import type { Subprocess } from "bun";

const ROOT = join(import.meta.dir, "..");

export interface Proc {
  pid: number;
  port: number;
  url: string;
  stop(): Promise<void>;
}

async function waitUntil(url: string, proc: Subprocess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`process exited: ${log()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not yet */
    }
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${url}: ${log()}`);
}

function capture(proc: Subprocess): () => string {
  let log = "";
  for (const stream of [proc.stdout, proc.stderr]) {
    void (async () => {
      for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) log = (log + new TextDecoder().decode(chunk)).slice(-4000);
    })();
  }
  return () => log;
}

export async function startParley(options: { port: number; host?: string; env: Record<string, string>; name: string; profileDir?: string }): Promise<Proc> {
  const host = options.host ?? "127.0.0.1";
  const args = options.profileDir ? ["bun", "--cpu-prof", `--cpu-prof-dir=${options.profileDir}`, join(ROOT, "src/main.ts")] : ["bun", join(ROOT, "src/main.ts")];
  const proc = Bun.spawn(args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env, PORT: String(options.port), HOST: host, INSTANCE_NAME: options.name, LOG_LEVEL: "warn" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const log = capture(proc);
  const url = `http://${host}:${options.port}`;
  await waitUntil(`${url}/healthz`, proc, log);
  return {
    pid: proc.pid,
    port: options.port,
    url,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

export async function startBare(port: number): Promise<Proc> {
  const proc = Bun.spawn(["bun", join(import.meta.dir, "bare.ts"), String(port)], { stdout: "pipe", stderr: "pipe" });
  const log = capture(proc);
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(`${url}/health`, proc, log);
  return {
    pid: proc.pid,
    port,
    url,
    stop: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** A free port below the ephemeral range. */
export function freePort(): number {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
      return port;
    } catch {
      /* taken */
    }
  }
}
