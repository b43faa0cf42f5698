// Scenario 4: pages. Requests per second and p99 at a fixed concurrency, with wrk where it is
// installed (a client in C, so the client is not what is measured), else with fetch. Each URL
// is loaded for a moment first, unmeasured: the first seconds after a start (code not yet
// compiled, a list not yet cached, 32 requests all missing it at once) put a p99 of 90–280 ms
// on a page whose p99 is 7 ms once warm (bench/RESULTS.md, section 10).
import { latency } from "../stats.ts";

export interface PagesResult {
  url: string;
  tool: "wrk" | "fetch";
  requestsPerSecond: number;
  p99: number;
  errors: number;
}

const WRK = "/usr/bin/wrk";

export async function pages(
  url: string,
  headers: Record<string, string>,
  options: { concurrency: number; seconds: number; warmupSeconds: number },
): Promise<PagesResult> {
  await load(url, headers, { concurrency: options.concurrency, seconds: options.warmupSeconds });
  return load(url, headers, options);
}

async function load(url: string, headers: Record<string, string>, options: { concurrency: number; seconds: number }): Promise<PagesResult> {
  if (await Bun.file(WRK).exists()) {
    const args = [WRK, "-t2", `-c${options.concurrency}`, `-d${options.seconds}s`, "--latency", ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]), url];
    const run = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
    const out = run.stdout.toString();
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    const p99raw = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
    const p99 = p99raw ? Number(p99raw[1]) * (p99raw[2] === "us" ? 0.001 : p99raw[2] === "s" ? 1000 : 1) : NaN;
    const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
    return { url, tool: "wrk", requestsPerSecond: Math.round(rps), p99, errors };
  }
  const samples: number[] = [];
  let errors = 0;
  const until = performance.now() + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        if (!res.ok) errors++;
        samples.push(performance.now() - t);
      }
    }),
  );
  return { url, tool: "fetch", requestsPerSecond: Math.round(samples.length / options.seconds), p99: latency(samples).p99, errors };
}
