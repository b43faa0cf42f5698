// The figures an adversarial run ends with: what was tried, what failed as it should, and
// whether anything crashed or was lost. Each test file adds its counts; run.ts prints them.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export interface Tally {
  inputs: number;
  faults: number;
  refused: number;
  crashes: number;
  acknowledged: number;
  lost: number;
}

const counts: Tally = { inputs: 0, faults: 0, refused: 0, crashes: 0, acknowledged: 0, lost: 0 };

export function count(field: keyof Tally, n = 1): void {
  counts[field] += n;
}

/** Adds this file's counts to the run's file (ADVERSARIAL_TALLY), if the runner asked for one. */
export function flush(): void {
  const file = process.env.ADVERSARIAL_TALLY;
  if (!file) return;
  const total: Tally = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : { inputs: 0, faults: 0, refused: 0, crashes: 0, acknowledged: 0, lost: 0 };
  for (const key of Object.keys(counts) as (keyof Tally)[]) total[key] += counts[key];
  writeFileSync(file, JSON.stringify(total));
  for (const key of Object.keys(counts) as (keyof Tally)[]) counts[key] = 0;
}
