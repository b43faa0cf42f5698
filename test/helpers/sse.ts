// An event-stream client that records every event it receives, in order, the way an
// EventSource parses them (id, event, data; comments kept apart).
import type { TestServer } from "./server.ts";
import type { Person } from "./client.ts";

export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
  json: any;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  private cursor = 0;
  private waiters: (() => void)[] = [];
  private abort = new AbortController();
  ended = false;
  private done!: Promise<void>;

  static async open(server: TestServer, who: Person | null, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    const response = await fetch(server.url + path, {
      headers: { ...(who ? { authorization: `Bearer ${who.token}` } : {}), accept: "text/event-stream", ...headers },
      signal: client.abort.signal,
    });
    client.status = response.status;
    if (!response.ok || !response.body) {
      client.ended = true;
      client.body = await response.text();
      return client;
    }
    client.done = client.pump(response.body);
    return client;
  }

  body = "";

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          this.parse(block);
        }
      }
    } catch {
      /* aborted or cut */
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private parse(block: string): void {
    let id: string | null = null;
    let event = "message";
    const data: string[] = [];
    let any = false;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else continue;
      any = true;
    }
    if (!any || data.length === 0) return;
    const text = data.join("\n");
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    this.events.push({ id, event, data: text, json });
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async next(match: (e: SseEvent) => boolean = () => true, timeoutMs = 5000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.events.length) {
        const e = this.events[this.cursor++]!;
        if (match(e)) return e;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) throw new Error(`no matching event within ${timeoutMs} ms; last: ${JSON.stringify(this.events.slice(-3))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async until(condition: (events: SseEvent[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) throw new Error(`condition not met within ${timeoutMs} ms; last: ${JSON.stringify(this.events.slice(-3))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  messages(): any[] {
    return this.events.filter((e) => e.event === "message").map((e) => e.json);
  }

  close(): void {
    this.abort.abort();
  }
}
