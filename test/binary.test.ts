// The one binary: `bun run build` makes it; it starts from an empty directory with nothing
// else installed (views, public/, sql/ and PGlite's files are inside), serves the pages and
// the API, and stops cleanly on SIGTERM.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnInstance, type Instance } from "./helpers/cluster.ts";
import { api, signup, startThread } from "./helpers/client.ts";
import { embedded } from "./helpers/server.ts";
import type { TestServer } from "./helpers/server.ts";

const ROOT = join(import.meta.dir, "..");
let workdir: string;
let binary: string;
let instance: Instance;

beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), "parley-binary-"));
  binary = join(workdir, "parley");
  const build = Bun.spawnSync(["bun", "build", "--compile", "--minify", join(ROOT, "src/main.ts"), "--outfile", binary], { cwd: ROOT, stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
  // Run it from a directory with nothing in it, as the only file on a fresh server would be.
  const empty = join(workdir, "run");
  await Bun.write(join(empty, ".keep"), "");
  instance = await spawnInstance({
    name: "binary",
    command: [binary],
    cwd: empty,
    env: embedded ? { DATABASE_URL: "", REDIS_URL: "", DATA_DIR: join(empty, "data") } : {},
  });
}, 120_000);

afterAll(async () => {
  await instance?.stop("SIGKILL");
  rmSync(workdir, { recursive: true, force: true });
});

test("the compiled binary runs from an empty directory: pages, static files, API, live delivery, graceful stop", async () => {
  const server = { url: instance.url, origin: instance.url, wsUrl: `ws://127.0.0.1:${instance.port}/api/v1/ws`, dataDir: null } as unknown as TestServer;
  const health = await api(server, null, "GET", "/healthz");
  expect(health.status).toBe(200);
  expect(health.body.database.kind).toBe(embedded ? "embedded" : "postgres");
  if (embedded) expect(existsSync(join(workdir, "run", "data", "pg"))).toBe(true);

  const login = await fetch(`${instance.url}/login`);
  expect(login.status).toBe(200);
  const html = await login.text();
  expect(html).toContain("<form");
  const css = /href="(\/static\/app\.css\?v=[0-9a-f]+)"/.exec(html)![1]!;
  const js = /src="(\/static\/htmx\.min\.js\?v=[0-9a-f]+)"/.exec(html)![1]!;
  for (const path of [css, js]) {
    const res = await fetch(instance.url + path);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toContain("immutable");
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  }

  const [alice, bob] = await Promise.all([signup(server, "alice"), signup(server, "bob")]);
  const { thread } = await startThread(server, alice, bob, "from the binary");
  const ws = new WebSocket(`ws://127.0.0.1:${instance.port}/api/v1/ws`, { headers: { authorization: `Bearer ${bob.token}` } } as unknown as string[]);
  const frames: any[] = [];
  ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
  await new Promise((r) => (ws.onopen = r));
  ws.send(JSON.stringify({ type: "subscribe", threadId: thread.id, after: 0 }));
  await api(server, alice, "POST", `/api/v1/threads/${thread.id}/messages`, { text: "live from the binary" });
  const deadline = Date.now() + 5000;
  while (frames.filter((f) => f.type === "message").length < 2 && Date.now() < deadline) await Bun.sleep(20);
  expect(frames.filter((f) => f.type === "message").map((f) => f.message.text)).toEqual(["from the binary", "live from the binary"]);
  const closed = new Promise<number>((r) => (ws.onclose = (e) => r(e.code)));

  const stop = await instance.stop("SIGTERM");
  expect(stop.code).toBe(0);
  expect(stop.ms).toBeLessThan(10_000);
  expect(await closed).toBe(1012);
  expect(instance.output()).toContain("stopped");
}, 60_000);
