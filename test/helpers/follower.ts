// Clients that behave the way the README asks clients to: a follower keeps the last seq it
// has seen and resumes from it after every drop; a sender retries with the same clientId
// until it has an answer. What they record (every message as it arrived, every ack) is what
// the tests check: exactly once, in order, nothing acknowledged lost.
import type { Person } from "./client.ts";

/**
 * What a client does when its session is gone (Redis restarted empty, say): it signs in again.
 * Answers whether the person has a good session now.
 */
export async function keepSignedIn(baseUrl: string, who: Person): Promise<boolean> {
  try {
    const me = await fetch(`${baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${who.token}` } });
    if (me.status !== 401) return me.ok;
    const login = await fetch(`${baseUrl}/api/v1/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: who.username, password: who.password }),
    });
    if (!login.ok) return false;
    who.token = (await login.json()).token;
    return true;
  } catch {
    return false;
  }
}

export interface Follower {
  /** Every message seq, in arrival order, duplicates included (there must be none). */
  readonly seqs: number[];
  reconnects: number;
  stop(): void;
  /** Resolves when the follower has seen every seq in `expected`. */
  waitFor(expected: number[], timeoutMs: number): Promise<void>;
}

export function followThread(options: {
  baseUrl: string;
  who: Person;
  threadId: number;
  transport: "ws" | "sse";
  /** Where to start from; 0 replays everything. */
  after?: number;
}): Follower {
  const { baseUrl, who, threadId } = options;
  const seqs: number[] = [];
  let lastSeq = options.after ?? 0;
  let stopped = false;
  let stopCurrent: () => void = () => {};
  const follower: Follower = {
    seqs,
    reconnects: 0,
    stop() {
      stopped = true;
      stopCurrent();
    },
    async waitFor(expected, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const need = new Set(expected);
      while (Date.now() < deadline) {
        if ([...need].every((s) => seqs.includes(s))) return;
        await Bun.sleep(50);
      }
      const missing = [...need].filter((s) => !seqs.includes(s));
      throw new Error(`follower missing ${missing.length} of ${need.size}: ${missing.slice(0, 10).join(",")}…`);
    },
  };
  const take = (seq: number) => {
    seqs.push(seq);
    if (seq > lastSeq) lastSeq = seq;
  };
  const again = () => {
    if (stopped) return;
    follower.reconnects++;
    setTimeout(() => void keepSignedIn(baseUrl, who).then(connect), 50 + Math.random() * 200);
  };

  function connectWs() {
    const ws = new WebSocket(baseUrl.replace(/^http/, "ws") + "/api/v1/ws", { headers: { authorization: `Bearer ${who.token}` } } as unknown as string[]);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      again();
    };
    stopCurrent = () => ws.close();
    ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", threadId, after: lastSeq }));
    ws.onmessage = (event) => {
      const frame = JSON.parse(String(event.data));
      if (frame.type === "message" && frame.message.threadId === threadId) take(frame.message.seq);
      if (frame.type === "reset" || (frame.type === "error" && frame.threadId === threadId)) ws.close();
    };
    ws.onclose = finish;
    ws.onerror = finish;
  }

  function connectSse() {
    const abort = new AbortController();
    stopCurrent = () => abort.abort();
    void (async () => {
      try {
        const response = await fetch(`${baseUrl}/api/v1/threads/${threadId}/events`, {
          headers: { authorization: `Bearer ${who.token}`, "last-event-id": String(lastSeq), accept: "text/event-stream" },
          signal: abort.signal,
        });
        if (!response.ok || !response.body) throw new Error(String(response.status));
        const decoder = new TextDecoder();
        let buffer = "";
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!/^event: message$/m.test(block)) continue;
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (data) take(JSON.parse(data).seq);
          }
        }
      } catch {
        /* cut: reconnect below */
      }
      again();
    })();
  }

  function connect() {
    if (stopped) return;
    if (options.transport === "ws") connectWs();
    else connectSse();
  }
  connect();
  return follower;
}

export interface Sender {
  /** seq of every message the server acknowledged (stored). */
  readonly acked: number[];
  /** Answers other than success, by status (0: no answer), for a test to explain itself. */
  readonly failures: Map<number, number>;
  /** Resolves when the loop has sent everything and had every send answered. */
  done: Promise<void>;
  stop(): void;
}

/** Sends `count` messages one after another, each retried with its clientId until stored. */
export function sendLoop(options: { baseUrl: () => string; who: () => Person; threadId: number; count: number; label: string; pauseMs?: number }): Sender {
  const acked: number[] = [];
  const failures = new Map<number, number>();
  let stopped = false;
  const done = (async () => {
    for (let i = 0; i < options.count && !stopped; i++) {
      const clientId = `${options.label}-${i}`;
      for (let attempt = 0; !stopped; attempt++) {
        try {
          const response = await fetch(`${options.baseUrl()}/api/v1/threads/${options.threadId}/messages`, {
            method: "POST",
            headers: { authorization: `Bearer ${options.who().token}`, "content-type": "application/json" },
            body: JSON.stringify({ text: `${options.label} #${i}`, clientId }),
          });
          if (response.status === 201 || response.status === 200) {
            acked.push((await response.json()).message.seq);
            break;
          }
          failures.set(response.status, (failures.get(response.status) ?? 0) + 1);
          if (response.status === 401) await keepSignedIn(options.baseUrl(), options.who());
          else if (response.status < 500) throw new Error(`refused: ${response.status} ${await response.text()}`);
        } catch (err) {
          if ((err as Error).message.startsWith("refused")) throw err;
          if (!(err instanceof Error && err.message.startsWith("refused"))) failures.set(0, (failures.get(0) ?? 0) + 1);
        }
        await Bun.sleep(Math.min(1000, 50 * 2 ** attempt));
      }
      if (options.pauseMs) await Bun.sleep(options.pauseMs);
    }
  })();
  return { acked, failures, done, stop: () => (stopped = true) };
}

/**
 * Two people talking non-stop through `baseUrl` (Caddy, say) while faults happen: both send
 * until stopped, and three followers (bob and alice over WebSocket, bob over SSE) record
 * what reaches them.
 */
export function conversationUnderLoad(baseUrl: string, alice: Person, bob: Person, threadId: number, pauseMs: number): { followers: Follower[]; senders: Sender[] } {
  return {
    followers: [
      followThread({ baseUrl, who: bob, threadId, transport: "ws" }),
      followThread({ baseUrl, who: alice, threadId, transport: "ws" }),
      followThread({ baseUrl, who: bob, threadId, transport: "sse" }),
    ],
    senders: [
      sendLoop({ baseUrl: () => baseUrl, who: () => alice, threadId, count: 100_000, label: "alice", pauseMs }),
      sendLoop({ baseUrl: () => baseUrl, who: () => bob, threadId, count: 100_000, label: "bob", pauseMs }),
    ],
  };
}
