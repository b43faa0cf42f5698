// A browser with JavaScript off: it keeps cookies, follows nothing by itself, and posts
// forms the way a browser does (urlencoded, with its page's Origin).
import type { TestServer } from "./server.ts";

export class NoJsBrowser {
  readonly cookies = new Map<string, string>();
  lastHtml = "";

  constructor(
    readonly server: TestServer,
    private readonly headers: Record<string, string> = {},
  ) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  private keep(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "";
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const response = await fetch(this.server.url + path, { redirect: "manual", headers: { cookie: this.cookieHeader(), ...this.headers, ...headers } });
    this.keep(response);
    this.lastHtml = await response.clone().text();
    return response;
  }

  /** Posts a form as the page at `server.origin` would, with the CSRF token of the last page. */
  async post(path: string, fields: Record<string, string>, options: { origin?: string | null; csrf?: string | null } = {}): Promise<Response> {
    const form = new URLSearchParams(fields);
    const csrf = options.csrf === undefined ? this.csrfToken() : options.csrf;
    if (csrf !== null) form.set("_csrf", csrf);
    const response = await fetch(this.server.url + path, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: this.cookieHeader(),
        ...(options.origin === null ? {} : { origin: options.origin ?? this.server.origin }),
        ...this.headers,
      },
      body: form.toString(),
    });
    this.keep(response);
    this.lastHtml = await response.clone().text();
    return response;
  }

  csrfToken(): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(this.lastHtml);
    if (!match) throw new Error("no CSRF token on the last page");
    return match[1]!;
  }

  async signUp(username: string, password = "password-for-tests"): Promise<Response> {
    await this.get("/signup");
    return this.post("/signup", { username, password });
  }
}

/** The text a person sees in an element with the given id (tags stripped, entities decoded). */
export function textOf(html: string, id: string): string {
  const match = new RegExp(`id="${id}"[^>]*>([\\s\\S]*?)</`).exec(html);
  return match ? decode(match[1]!.replace(/<[^>]+>/g, "")) : "";
}

export function decode(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;|&#34;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}
