// Clients the way real ones talk to Parley: HTTP with a bearer token or cookies, and a
// WebSocket that records every frame it receives, in order.
import type { TestServer } from "./server.ts";

export interface Person {
  id: number;
  username: string;
  password: string;
  token: string;
}

/** A username no other test in this run (or an earlier one on the same database) has. */
export function uniqueName(base: string): string {
  const suffix = Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex");
  return `${base}_${suffix}`.slice(0, 32);
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export async function api<T = any>(
  server: TestServer,
  who: Person | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const response = await fetch(server.url + path, {
    method,
    headers: {
      ...(who ? { authorization: `Bearer ${who.token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

/** `headers` can name another client address (X-Forwarded-For, believed from loopback). */
export async function signup(server: TestServer, base = "user", headers: Record<string, string> = {}): Promise<Person> {
  const username = uniqueName(base);
  const password = `pw-${username}-secret`;
  const res = await api(server, null, "POST", "/api/v1/signup", { username, password }, headers);
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, username, password, token: res.body.token };
}

/** alice writes to bob by username: the thread, and the first message when given. */
export async function startThread(server: TestServer, from: Person, to: Person, text?: string) {
  const res = await api(server, from, "POST", "/api/v1/threads", { participants: [to.username], ...(text ? { text } : {}) });
  if (res.status !== 201 && res.status !== 200) throw new Error(`thread failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { thread: { id: number; lastSeq: number }; message?: { seq: number } };
}

export type Frame = Record<string, any>;

export class SocketClient {
  readonly frames: Frame[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      this.frames.push(JSON.parse(String(event.data)));
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => {
      resolve({ code: e.code, reason: e.reason });
      for (const wake of this.waiters.splice(0)) wake();
    }));
  }

  static async open(
    server: TestServer,
    who: Person | null,
    options: { origin?: string | null; view?: "html"; cookie?: string } = {},
  ): Promise<SocketClient> {
    const headers: Record<string, string> = {};
    if (who && !options.cookie) headers.authorization = `Bearer ${who.token}`;
    if (options.cookie) headers.cookie = options.cookie;
    if (options.origin !== null) headers.origin = options.origin ?? server.origin;
    const url = server.wsUrl + (options.view ? `?view=${options.view}` : "");
    const ws = new WebSocket(url, { headers } as unknown as string[]);
    const client = new SocketClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error("websocket failed to open")), { once: true });
    });
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame (after those already taken) that matches, waiting up to timeoutMs. */
  async next(match: (frame: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const frame = this.frames[this.cursor++]!;
        if (match(frame)) return frame;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Subscribes and waits for `subscribed`; returns the replayed messages before it. */
  async subscribe(threadId: number, after?: number): Promise<{ replay: Frame[]; lastSeq: number }> {
    const from = this.frames.length;
    this.send({ type: "subscribe", threadId, ...(after !== undefined ? { after } : {}) });
    const done = await this.next((f) => (f.type === "subscribed" || f.type === "error" || f.type === "reset") && f.threadId === threadId);
    if (done.type !== "subscribed") throw new Error(`subscribe refused: ${JSON.stringify(done)}`);
    const replay = this.frames.slice(from).filter((f) => f.type === "message" && (f.message?.threadId ?? f.threadId) === threadId && this.frames.indexOf(f) < this.frames.indexOf(done));
    return { replay, lastSeq: done.lastSeq };
  }

  /** Waits until the frames received so far satisfy a condition (or the socket closes). */
  async until(condition: (frames: Frame[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`condition not met within ${timeoutMs} ms; last frames ${JSON.stringify(this.frames.slice(-5))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Everything received in the next `ms` milliseconds that matches. */
  async during(ms: number, match: (frame: Frame) => boolean = () => true): Promise<Frame[]> {
    const from = this.frames.length;
    await Bun.sleep(ms);
    return this.frames.slice(from).filter(match);
  }

  messagesOf(threadId: number): Frame[] {
    return this.frames.filter((f) => f.type === "message" && (f.message?.threadId ?? f.threadId) === threadId);
  }

  close(): void {
    this.ws.close();
  }
}
