// Numbers: latency percentiles, and how much CPU and memory each process used.
import { readdirSync, readFileSync } from "node:fs";

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export interface Latency {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function latency(samples: number[]): Latency {
  const sorted = Float64Array.from(samples).sort() as unknown as number[];
  return {
    count: samples.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
  };
}

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU seconds a process has used (user + system), from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Resident memory of a process, in bytes. */
export function rssBytes(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
    return Number(line!.split(/\s+/)[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** Share of one core each process used over a stretch of wall time. */
export class CpuMeter {
  private readonly start = performance.now();
  private readonly self = process.cpuUsage();
  private readonly others: Map<number, number>;
  constructor(private readonly pids: number[]) {
    this.others = new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
  }
  /** { client: %, <pid>: % } of one core. */
  read(): { client: number; servers: number[] } {
    const wall = (performance.now() - this.start) / 1000;
    const used = process.cpuUsage(this.self);
    return {
      client: (100 * (used.user + used.system)) / 1e6 / wall,
      servers: this.pids.map((pid) => (100 * (cpuSeconds(pid) - this.others.get(pid)!)) / wall),
    };
  }
}

/** CPU seconds of every process running `command` (its name in /proc/<pid>/stat), by pid. */
function cpuByPid(command: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) !== command) continue;
      const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
      out.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND);
    } catch {
      // gone between the listing and the read
    }
  }
  return out;
}

/**
 * Share of one core used by all processes of a command over a stretch of wall time: all of
 * PostgreSQL's backends, say, including those that started meanwhile. Machine-wide: whatever
 * else those services do is in it too.
 */
export class CommandCpu {
  private readonly start = performance.now();
  private readonly before: Map<number, number>;
  constructor(private readonly command: string) {
    this.before = cpuByPid(command);
  }
  /** CPU seconds used since this meter started. */
  seconds(): number {
    let used = 0;
    for (const [pid, seconds] of cpuByPid(this.command)) used += seconds - (this.before.get(pid) ?? 0);
    return used;
  }
  read(): number {
    return (100 * this.seconds()) / ((performance.now() - this.start) / 1000);
  }
}

export const round = (n: number, digits = 1) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);
