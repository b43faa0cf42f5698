// Debian's Chromium driven by playwright-core; never a downloaded browser build.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = join(import.meta.dir, "..", "artifacts");

/**
 * Browser tests run where Chromium is installed (.ci/run installs it). Elsewhere they are
 * skipped with a note, unless CI is set: there a missing browser is a failure.
 */
export const haveChromium = existsSync(CHROMIUM) || !!process.env.CI;
if (!existsSync(CHROMIUM) && !process.env.CI) {
  console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
}

export async function launch(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    // playwright gives every launch a fresh, empty profile of its own.
  });
}
