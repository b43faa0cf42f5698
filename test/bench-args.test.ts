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
