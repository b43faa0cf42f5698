// `bun run test:adversarial`: the defenses, the faults and the fuzzers, run against whatever
// this run has (PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set, embedded
// otherwise), ending with the table the README quotes. Exits non-zero if a test failed, a
// process crashed or an acknowledged message was lost.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tally } from "./tally.ts";

const files = ["defenses.adv.ts", "faults.adv.ts", "fuzz.adv.ts"].map((f) => `./test/adversarial/${f}`);
const dir = mkdtempSync(join(tmpdir(), "parley-adversarial-"));
const tallyFile = join(dir, "tally.json");
const mode = process.env.DATABASE_URL ? `PostgreSQL${process.env.REDIS_URL ? " + Redis" : ""}` : "embedded (PGlite, no Redis)";
console.log(`adversarial run: ${mode}`);

const started = Date.now();
const run = Bun.spawn(["bun", "test", "--timeout", "300000", ...files], {
  env: { ...process.env, ADVERSARIAL_TALLY: tallyFile },
  stdout: "inherit",
  stderr: "inherit",
});
const code = await run.exited;

let tally: Tally = { inputs: 0, faults: 0, refused: 0, crashes: 0, acknowledged: 0, lost: 0 };
try {
  tally = JSON.parse(readFileSync(tallyFile, "utf8"));
} catch {
  console.error("no tally was written: the tests did not get far enough to count anything");
}
rmSync(dir, { recursive: true, force: true });

const rows: [string, number][] = [
  ["inputs tried", tally.inputs],
  ["faults injected", tally.faults],
  ["refused as expected", tally.refused],
  ["crashes", tally.crashes],
  ["messages acknowledged", tally.acknowledged],
  ["messages lost", tally.lost],
];
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\n| ${"".padEnd(width)} | ${mode.padEnd(10)} |\n|${"-".repeat(width + 2)}|${"-".repeat(Math.max(12, mode.length + 2))}|`);
for (const [k, v] of rows) console.log(`| ${k.padEnd(width)} | ${v.toLocaleString("en").padStart(Math.max(10, mode.length))} |`);
console.log(`\n${((Date.now() - started) / 1000).toFixed(0)} s; tests ${code === 0 ? "passed" : "FAILED"}`);
process.exit(code !== 0 || tally.crashes > 0 || tally.lost > 0 ? 1 : 0);
