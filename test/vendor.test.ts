// htmx is vendored into public/ from the pinned htmx.org package, not fetched from a CDN.
import { expect, test } from "bun:test";
import pkg from "../package.json";

test("public/vendor/htmx.min.js is the pinned htmx.org package's file, byte for byte", async () => {
  expect(pkg.dependencies["htmx.org"]).toMatch(/^\d+\.\d+\.\d+$/);
  const installed = await import("../node_modules/htmx.org/package.json");
  expect(installed.version).toBe(pkg.dependencies["htmx.org"]);
  const vendored = await Bun.file(new URL("../public/vendor/htmx.min.js", import.meta.url)).bytes();
  const original = await Bun.file(new URL("../node_modules/htmx.org/dist/htmx.min.js", import.meta.url)).bytes();
  expect(Bun.hash(vendored)).toBe(Bun.hash(original));
});

test("every dependency is pinned to an exact version", () => {
  for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    expect({ name, version }).toEqual({ name, version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
  }
});
