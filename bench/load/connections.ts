// Scenario 3: many idle, authenticated, subscribed sockets. Connect rate, and the server's
// resident memory per socket, against a bare Bun server holding the same sockets.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { rssBytes } from "../stats.ts";

export interface ConnectionsResult {
  sockets: number;
  open: number;
  connectPerSecond: number;
  bytesPerSocket: number;
}

export interface ConnectionPlanItem {
  url: string;
  headers: Record<string, string>;
  subscribe: string | null;
}

/** Opens the plan's sockets from worker processes (one per plan part), measures, closes. */
export async function connections(parts: ConnectionPlanItem[][], serverPids: number[]): Promise<ConnectionsResult> {
  await Bun.sleep(500);
  const before = serverPids.reduce((sum, pid) => sum + rssBytes(pid), 0);
  const started = performance.now();
  const files = parts.map((_, k) => `/tmp/parley-conn-plan-${process.pid}-${k}.json`);
  const workers = await Promise.all(
    parts.map(async (plan, k) => {
      const file = files[k]!;
      await Bun.write(file, JSON.stringify(plan));
      return Bun.spawn(["bun", join(import.meta.dir, "conn-worker.ts"), file], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    }),
  );
  let open = 0;
  for (const worker of workers) {
    const reader = worker.stdout.getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    open += Number(out.split(" ")[2] ?? 0);
    reader.releaseLock();
  }
  const elapsed = performance.now() - started;
  // Idle means idle: give the collector and the allocator a few seconds to hand back what
  // connecting left behind (read at 2 s, the same sockets weigh about 1.3 KiB more).
  await Bun.sleep(6000);
  const after = serverPids.reduce((sum, pid) => sum + rssBytes(pid), 0);
  for (const worker of workers) {
    worker.stdin.end();
    await worker.exited;
  }
  for (const file of files) rmSync(file, { force: true });
  const total = parts.reduce((n, p) => n + p.length, 0);
  return { sockets: total, open, connectPerSecond: Math.round((open * 1000) / elapsed), bytesPerSocket: Math.round((after - before) / Math.max(1, open)) };
}
