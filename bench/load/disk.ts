// The disk under the database, watched while the relay runs. Every acknowledged message waits
// for its commit to be flushed to disk, so a flush that stalls for 80 ms delays every message
// that arrives meanwhile, whatever Parley does; on some VMs such stalls come several times a
// second with the machine otherwise idle (bench/RESULTS.md, section 16). The probe's flushes
// during a step tell whether that step's tail was the disk's.
import { statSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { latency, type Latency } from "../stats.ts";

/** A flush counts as a stall past this: the relay's own target for a whole delivery. */
const STALL_MS = 25;

export interface DiskWindow {
  flush: Latency;
  /** Share of the window spent inside flushes longer than STALL_MS. */
  stalledShare: number;
}

export class DiskProbe {
  private samples: { at: number; took: number }[] = [];

  private constructor(private readonly proc: Subprocess<"pipe", "pipe", "inherit">) {
    void (async () => {
      let rest = "";
      for await (const chunk of proc.stdout as unknown as AsyncIterable<Uint8Array>) {
        const lines = (rest + new TextDecoder().decode(chunk)).split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          const [at, took] = line.split(" ");
          this.samples.push({ at: Number(at), took: Number(took) });
        }
      }
    })();
  }

  /**
   * A probe writing in dir, or null when dir is not on the same disk as the database (a
   * database elsewhere, or a data folder this process cannot see).
   */
  static start(dir: string, databaseDir: string | null): DiskProbe | null {
    if (!databaseDir) return null;
    try {
      if (statSync(dir).dev !== statSync(databaseDir).dev) return null;
    } catch {
      return null;
    }
    return new DiskProbe(Bun.spawn([process.execPath, join(import.meta.dir, "disk-worker.ts"), dir], { stdin: "pipe", stdout: "pipe", stderr: "inherit" }));
  }

  /**
   * The flushes between two wall-clock times (Date.now()): the times of those that ended inside,
   * and of every stall the part that falls inside (read it a moment after `to`, so a stall still
   * running then has ended and been reported).
   */
  window(from: number, to: number): DiskWindow {
    const inside = this.samples.filter((s) => s.at >= from && s.at <= to);
    const stalled = this.samples
      .filter((s) => s.took > STALL_MS)
      .reduce((sum, s) => sum + Math.max(0, Math.min(s.at, to) - Math.max(s.at - s.took, from)), 0);
    this.samples = this.samples.filter((s) => s.at > to);
    return { flush: latency(inside.map((s) => s.took)), stalledShare: to > from ? stalled / (to - from) : 0 };
  }

  /** Ends the probe; one stuck in a flush is killed after a few seconds. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    this.proc.stdin.end();
    const ended = await Promise.race([this.proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
    if (!ended) this.proc.kill();
  }
}
