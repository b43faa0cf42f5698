// A line per event on stderr: "<time> <level> [<instance>] <text>". Plain text because the
// people reading it are the ones running one small box; journald adds the rest.
import type { LogLevel } from "./config.ts";

export interface Logger {
  debug(line: string): void;
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function createLogger(level: LogLevel, instance: string): Logger {
  const at = (name: Exclude<LogLevel, "silent">) =>
    RANK[name] < RANK[level] ? () => {} : (line: string) => process.stderr.write(`${new Date().toISOString()} ${name} [${instance}] ${line}\n`);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
