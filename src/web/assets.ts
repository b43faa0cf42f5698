// The files under public/, embedded in the build (so the compiled binary carries them) and
// served from memory with a content hash in the URL: a changed file gets a new URL, so
// browsers and Caddy may keep each version for a year.
// Not @elysiajs/static: it reads public/ from the working directory at start-up, which a
// compiled binary run from another directory does not have.
import appCss from "../../public/app.css" with { type: "file" };
// TypeScript types a .js import by its content; Bun's `type: "file"` makes it a path string.
// @ts-expect-error
import appJsFile from "../../public/app.js" with { type: "file" };
// @ts-expect-error
import htmxJsFile from "../../public/vendor/htmx.min.js" with { type: "file" };

const appJs = appJsFile as string;
const htmxJs = htmxJsFile as string;

const FILES: Record<string, string> = {
  "app.css": appCss,
  "app.js": appJs,
  "htmx.min.js": htmxJs,
};

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  version: string;
}

const assets = new Map<string, Asset>();

/** Reads and hashes every asset once; call at start-up, before serving pages. */
export async function loadAssets(): Promise<void> {
  for (const [name, path] of Object.entries(FILES)) {
    const file = Bun.file(path);
    const body = new Uint8Array(await file.arrayBuffer());
    const version = new Bun.CryptoHasher("sha256").update(body).digest("hex").slice(0, 12);
    assets.set(name, { body, type: file.type, version });
  }
}

export function assetUrl(name: string): string {
  const asset = assets.get(name);
  return asset ? `/static/${name}?v=${asset.version}` : `/static/${name}`;
}

export function serveAsset(name: string, version: string | undefined, ifNoneMatch: string | null): Response {
  const asset = assets.get(name);
  if (!asset) return new Response("Not found", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
  const etag = `"${asset.version}"`;
  const headers = {
    "content-type": asset.type,
    etag,
    // The URL a page links to names the version: that one never changes. Anything else revalidates.
    "cache-control": version === asset.version ? "public, max-age=31536000, immutable" : "no-cache",
  };
  if (ifNoneMatch === etag) return new Response(null, { status: 304, headers });
  return new Response(asset.body as Uint8Array<ArrayBuffer>, { headers });
}
