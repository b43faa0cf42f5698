// What `bun run bench` is told on its command line, checked before anything starts: a typo
// would otherwise run a different benchmark than the one asked for, or none at all.

export const SCENARIOS = ["relay", "cross", "fanout", "connections", "pages"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchArgs {
  quick: boolean;
  big: boolean;
  profile: boolean;
  /** Rate limits unchecked (RATE_LIMIT_SCALE=0) instead of scaled ×1000. */
  limitsOff: boolean;
  /** The scenarios to run; null for all. */
  only: Scenario[] | null;
  pairs: number | null;
  connections: number | null;
  /** The relay's offered rates, messages a second. */
  rates: number[] | null;
}

export class BenchArgsError extends Error {}

export const USAGE =
  "usage: bun run bench [--quick | --big] [--only=relay,cross,fanout,connections,pages] [--rates=1000,5000,…] " +
  "[--pairs=N] [--connections=N] [--limits=off] [--profile]";

function positive(name: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n <= 0) throw new BenchArgsError(`--${name} takes whole numbers above 0, got "${raw}"`);
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { quick: false, big: false, profile: false, limitsOff: false, only: null, pairs: null, connections: null, rates: null };
  for (const arg of argv) {
    const [name, value] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, null];
    switch (name) {
      case "--quick":
      case "--big":
      case "--profile":
        if (value !== null) throw new BenchArgsError(`${name} takes no value`);
        args[name.slice(2) as "quick" | "big" | "profile"] = true;
        break;
      case "--limits":
        if (value !== "off" && value !== "on") throw new BenchArgsError(`--limits is "on" or "off", got "${value ?? ""}"`);
        args.limitsOff = value === "off";
        break;
      case "--only": {
        const names = (value ?? "").split(",");
        const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
        if (unknown.length > 0) throw new BenchArgsError(`--only names scenarios among ${SCENARIOS.join(", ")}; not "${unknown.join(",")}"`);
        args.only = names as Scenario[];
        break;
      }
      case "--pairs":
      case "--connections":
        args[name.slice(2) as "pairs" | "connections"] = positive(name.slice(2), value ?? "");
        break;
      case "--rates":
        args.rates = (value ?? "").split(",").map((r) => positive("rates", r));
        break;
      default:
        throw new BenchArgsError(`unknown option "${arg}"`);
    }
  }
  if (args.quick && args.big) throw new BenchArgsError("--quick and --big do not go together");
  return args;
}

/** `bun bench/writer-cost.ts`: the batch sizes to measure and how many messages each. */
export interface WriterCostArgs {
  waves: number[];
  messages: number;
}

export const WRITER_COST_USAGE = "usage: DATABASE_URL=… bun bench/writer-cost.ts [--waves=1,5,25,100] [--messages=40000]";

export function parseWriterCostArgs(argv: readonly string[]): WriterCostArgs {
  const args: WriterCostArgs = { waves: [1, 5, 25, 100], messages: 40_000 };
  for (const arg of argv) {
    const eq = arg.indexOf("=");
    const [name, value] = eq < 0 ? [arg, ""] : [arg.slice(0, eq), arg.slice(eq + 1)];
    if (name === "--waves") args.waves = value.split(",").map((w) => positive("waves", w));
    else if (name === "--messages") args.messages = positive("messages", value);
    else throw new BenchArgsError(`unknown option "${arg}"`);
  }
  return args;
}
