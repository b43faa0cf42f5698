// Real processes for the scale-out tests: Parley instances started the way systemd starts
// them (a process per port, configured by the environment), Caddy in front, and a Redis of
// the test's own that it can kill and restart.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const ROOT = join(import.meta.dir, "..", "..");

/** A free TCP port below the ephemeral range (the machine's clients use 32768 and up). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      const probe = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      probe.stop(true);
      return port;
    } catch {
      /* taken: try another */
    }
  }
  throw new Error("no free port found");
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface Instance {
  name: string;
  port: number;
  url: string;
  process: Subprocess;
  /** SIGTERM (graceful) by default; resolves with the exit code and how long it took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
  output(): string;
}

/** Starts `bun src/main.ts` (or the given binary) as its own process; resolves once /healthz is 200. */
export async function spawnInstance(options: { name: string; port?: number; env?: Record<string, string>; command?: string[]; cwd?: string }): Promise<Instance> {
  const port = options.port ?? (await freePort());
  let log = "";
  const proc = Bun.spawn(options.command ?? ["bun", join(ROOT, "src/main.ts")], {
    cwd: options.cwd ?? ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      INSTANCE_NAME: options.name,
      LOG_LEVEL: "info",
      RATE_LIMIT_SCALE: "1000",
      DATABASE_URL: process.env.PARLEY_TEST_DATABASE_URL ?? "",
      REDIS_URL: process.env.REDIS_URL ?? "",
      ...options.env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  for (const stream of [proc.stdout, proc.stderr]) {
    void (async () => {
      for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) log += new TextDecoder().decode(chunk);
    })();
  }
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${url}/healthz`)).status === 200, 30_000, `${options.name} on ${port}`);
  } catch (err) {
    proc.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return {
    name: options.name,
    port,
    url,
    process: proc,
    output: () => log,
    async stop(signal = "SIGTERM") {
      const started = Date.now();
      proc.kill(signal);
      const code = await proc.exited;
      return { code, ms: Date.now() - started };
    },
  };
}

export const haveCaddy = await Bun.file("/usr/bin/caddy").exists();

export interface Caddy {
  url: string;
  origin: string;
  /** What Caddy has logged, for a test that needs to explain a failure. */
  output(): string;
  stop(): Promise<void>;
}

/** The root Caddyfile, as the tests run it: plain HTTP on a loopback port, no admin API. */
export async function startCaddy(upstreams: number[]): Promise<Caddy> {
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), "parley-caddy-"));
  let log = "";
  const proc = Bun.spawn(["/usr/bin/caddy", "run", "--config", join(ROOT, "Caddyfile"), "--adapter", "caddyfile"], {
    env: {
      ...process.env,
      PARLEY_SITE: `http://127.0.0.1:${port}`,
      PARLEY_UPSTREAMS: upstreams.map((p) => `127.0.0.1:${p}`).join(" "),
      CADDY_ADMIN: process.env.DBG_CADDY_ADMIN ?? "off",
      XDG_DATA_HOME: join(home, "data"),
      XDG_CONFIG_HOME: join(home, "config"),
      HOME: home,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  void (async () => {
    for await (const chunk of proc.stderr as unknown as AsyncIterable<Uint8Array>) log += new TextDecoder().decode(chunk);
  })();
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${url}/healthz`)).status === 200, 20_000, "caddy");
  } catch (err) {
    proc.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return {
    url,
    origin: url,
    output: () => log,
    async stop() {
      proc.kill("SIGTERM");
      // Caddy drains connections on SIGTERM; a test has no reason to wait long for that.
      const timer = setTimeout(() => proc.kill("SIGKILL"), 2000);
      await proc.exited;
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export interface TestRedis {
  url: string;
  port: number;
  kill(): Promise<void>;
  /** A new, empty Redis on the same port: what a restart without persistence looks like. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "parley-redis-"));
  writeFileSync(join(dir, "redis.conf"), `port ${port}\nbind 127.0.0.1\nsave ""\nappendonly no\ndir ${dir}\n`);
  let proc: Subprocess | null = null;
  const launch = async () => {
    proc = Bun.spawn(["redis-server", join(dir, "redis.conf")], { stdout: "ignore", stderr: "ignore" });
    await waitFor(async () => {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      socket.end();
      return true;
    }, 10_000, `redis on ${port}`);
  };
  await launch();
  const kill = async () => {
    if (!proc) return;
    proc.kill("SIGKILL");
    await proc.exited;
    proc = null;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: launch,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
