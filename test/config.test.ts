// Configuration is read once, from the environment, with defaults that work; a bad value
// stops start-up with a message naming the variable.
import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../src/config.ts";

describe("configuration", () => {
  test("defaults: port 3000 on IPv6 and IPv4, embedded database in ./data, no Redis", () => {
    expect(loadConfig({})).toMatchObject({
      port: 3000,
      host: "::",
      databaseUrl: null,
      redisUrl: null,
      dataDir: "./data",
      allowedOrigins: [],
      logLevel: "info",
      rateLimitScale: 1,
      drainMs: 0,
    });
    expect(loadConfig({ DRAIN_SECONDS: "2.5", RATE_LIMIT_SCALE: "0" })).toMatchObject({ drainMs: 2500, rateLimitScale: 0 });
  });

  test("bad values name the variable", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: "eighty" }, /PORT/],
      [{ PORT: "70000" }, /PORT/],
      [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL must start with postgres/],
      [{ DATABASE_URL: "not a url" }, /DATABASE_URL is not a valid URL/],
      [{ REDIS_URL: "http://localhost" }, /REDIS_URL/],
      [{ ALLOWED_ORIGINS: "chat.example.com" }, /ALLOWED_ORIGINS/],
      [{ ALLOWED_ORIGINS: "https://chat.example.com/path" }, /ALLOWED_ORIGINS/],
      [{ LOG_LEVEL: "loud" }, /LOG_LEVEL/],
      [{ HOST: "not a host!" }, /HOST must be an IP address or a host name/],
      [{ RATE_LIMIT_SCALE: "-1" }, /RATE_LIMIT_SCALE/],
      [{ DRAIN_SECONDS: "soon" }, /DRAIN_SECONDS/],
      [{ DRAIN_SECONDS: "600" }, /DRAIN_SECONDS/],
    ];
    for (const [env, message] of cases) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    }
  });

  test("allowed origins are exact origins", () => {
    expect(loadConfig({ ALLOWED_ORIGINS: "https://a.example, http://b.example:8080/" }).allowedOrigins).toEqual(["https://a.example", "http://b.example:8080"]);
  });

  test("a data folder that cannot be written stops start-up, naming DATA_DIR", async () => {
    const proc = Bun.spawn(["bun", "src/main.ts"], { env: { ...process.env, PORT: "0", DATA_DIR: "/proc/parley", DATABASE_URL: "", REDIS_URL: "" }, stderr: "pipe", stdout: "pipe" });
    expect(await proc.exited).toBe(2);
    expect(await new Response(proc.stderr).text()).toContain("configuration: DATA_DIR cannot be used");
  });

  test("a bad value stops the server before it listens, naming the variable", async () => {
    const proc = Bun.spawn(["bun", "src/main.ts"], { env: { ...process.env, PORT: "not-a-port", DATABASE_URL: "", REDIS_URL: "" }, stderr: "pipe", stdout: "pipe" });
    expect(await proc.exited).toBe(2);
    expect(await new Response(proc.stderr).text()).toContain("configuration: PORT must be a port number");
  });
});
