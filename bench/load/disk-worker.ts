// The disk probe's process: every 10 ms, one 8 KiB write to a file of its own and a flush of it
// to disk (fdatasync, what PostgreSQL waits for at every commit), timed; each flush printed as
// "<wall ms> <flush ms>". In its own process, because a flush blocks the thread that asks for
// it. Args: the folder for the file (on the database's disk). Stops when its stdin closes.
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

const file = join(process.argv[2]!, `disk-probe-${process.pid}`);
const fd = openSync(file, "w");
// Gone from the folder at once (its blocks stay until the descriptor closes), so nothing is
// left behind however the probe ends.
rmSync(file);
const page = new Uint8Array(8192).fill(120);
let stopped = false;
void (async () => {
  // Nothing is sent; the stream ends when the bench stops the probe.
  const reader = Bun.stdin.stream().getReader();
  while (!(await reader.read()).done);
  stopped = true;
})();
for (let i = 0; !stopped; i++) {
  const started = performance.now();
  writeSync(fd, page, 0, page.length, (i % 128) * page.length);
  fdatasyncSync(fd);
  const took = performance.now() - started;
  process.stdout.write(`${Date.now()} ${took.toFixed(3)}\n`);
  await Bun.sleep(Math.max(0, 10 - took));
}
closeSync(fd);
