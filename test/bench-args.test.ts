// `bun run bench`'s command line: what it runs is what was asked for, and a typo stops it
// with a message naming the option, before anything starts.
import { expect, test } from "bun:test";
import { parseBenchArgs } from "../bench/args.ts";

test("the options the README and CI use are read as written", () => {
  expect(parseBenchArgs([])).toEqual({ quick: false, big: false, profile: false, limitsOff: false, only: null, pairs: null, connections: null, rates: null });
  expect(parseBenchArgs(["--quick"]).quick).toBe(true);
  expect(parseBenchArgs(["--big", "--only=connections"])).toMatchObject({ big: true, only: ["connections"] });
  expect(parseBenchArgs(["--only=relay,pages", "--rates=5000,8000", "--limits=off", "--pairs=200"])).toMatchObject({
    only: ["relay", "pages"],
    rates: [5000, 8000],
    limitsOff: true,
    pairs: 200,
  });
});

test("a typo or a bad number is refused with the option named, never run as something else", () => {
  const cases: [string[], RegExp][] = [
    [["--only=relays"], /--only .*not "relays"/],
    [["--only="], /--only/],
    [["--rates=5000,abc"], /--rates .*"abc"/],
    [["--rates="], /--rates/],
    [["--rates=-100"], /--rates/],
    [["--rates=1.5"], /--rates/],
    [["--pairs=0"], /--pairs/],
    [["--connections=1e9x"], /--connections/],
    [["--limits=of"], /--limits/],
    [["--quick=yes"], /--quick takes no value/],
    [["--quik"], /unknown option "--quik"/],
    [["--quick", "--big"], /do not go together/],
  ];
  for (const [argv, message] of cases) expect(() => parseBenchArgs(argv)).toThrow(message);
});

test("bench/writer-cost.ts refuses a typo or a bad number with the option named, before it touches a database", () => {
  const run = (...argv: string[]) => {
    const p = Bun.spawnSync(["bun", `${import.meta.dir}/../bench/writer-cost.ts`, ...argv], { env: { ...process.env, DATABASE_URL: "" } });
    return { code: p.exitCode, err: p.stderr.toString() };
  };
  expect(run("--wave=5")).toMatchObject({ code: 2, err: expect.stringMatching(/unknown option "--wave=5"/) });
  expect(run("--waves=5,0")).toMatchObject({ code: 2, err: expect.stringMatching(/--waves takes whole numbers above 0, got "0"/) });
  expect(run("--messages=many")).toMatchObject({ code: 2, err: expect.stringMatching(/--messages .*"many"/) });
  // Good options, no database: it says what is missing instead of running.
  expect(run("--waves=5,25")).toMatchObject({ code: 2, err: expect.stringMatching(/set DATABASE_URL/) });
});
