// A TCP forwarder the test controls: clients connect to it, it connects them on to a real
// service. `cut()` drops every connection and refuses new ones (the service "went away" as
// far as Parley can tell); `restore()` lets them through again. `loseAnswer(match)` lets the
// next PostgreSQL answer that matches reach nowhere: the statement ran (and committed), and
// the connection drops before the client hears of it.
import type { Socket, TCPSocketListener } from "bun";
import { freePort } from "./cluster.ts";

interface Pair {
  client: Socket<Pair>;
  upstream: Socket<unknown> | null;
  queued: Uint8Array[];
  /** An answer held back while a loss is armed, until its ReadyForQuery shows it whole. */
  held: Buffer;
}

export interface Forwarder {
  port: number;
  cut(): void;
  /** Drops the connection that carries the next whole answer whose bytes contain `match`. */
  loseAnswer(match: string): Promise<void>;
  restore(): void;
  stop(): void;
}

export async function forward(targetPort: number): Promise<Forwarder> {
  const port = await freePort();
  const pairs = new Set<Pair>();
  let open = true;
  let losing: { match: string; lost: () => void } | null = null;
  /** ReadyForQuery: 'Z', length 5, the transaction status; the last message of every answer. */
  const endsAnswer = (b: Buffer) => b.length >= 6 && b[b.length - 6] === 0x5a && b.readInt32BE(b.length - 5) === 5;
  const answer = (pair: Pair, chunk: Uint8Array) => {
    pair.held = pair.held.length > 0 ? Buffer.concat([pair.held, chunk]) : Buffer.from(chunk);
    if (!losing) {
      // Held while a loss was armed elsewhere: it goes on, in order, with what follows.
      void pair.client.write(pair.held);
      pair.held = Buffer.alloc(0);
      return;
    }
    if (!endsAnswer(pair.held)) return;
    const whole = pair.held;
    pair.held = Buffer.alloc(0);
    if (!whole.includes(losing.match)) return void pair.client.write(whole);
    const { lost } = losing;
    losing = null;
    pair.upstream?.terminate();
    pair.client.terminate();
    pairs.delete(pair);
    lost();
  };
  const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port,
    socket: {
      async open(client) {
        if (!open) return void client.end();
        const pair: Pair = { client, upstream: null, queued: [], held: Buffer.alloc(0) };
        client.data = pair;
        pairs.add(pair);
        try {
          pair.upstream = await Bun.connect({
            hostname: "127.0.0.1",
            port: targetPort,
            socket: {
              data: (_s, chunk) => answer(pair, chunk),
              close: () => void client.end(),
              error: () => void client.end(),
            },
          });
          for (const chunk of pair.queued.splice(0)) pair.upstream.write(chunk);
        } catch {
          client.end();
        }
      },
      data(client, chunk) {
        const pair = client.data;
        if (pair.upstream) pair.upstream.write(chunk);
        else pair.queued.push(new Uint8Array(chunk));
      },
      close(client) {
        client.data?.upstream?.end();
        pairs.delete(client.data);
      },
      error(client) {
        client.data?.upstream?.end();
      },
    },
  });
  const cut = () => {
    open = false;
    for (const pair of pairs) {
      pair.upstream?.terminate();
      pair.client.terminate();
    }
    pairs.clear();
  };
  return {
    port,
    cut,
    loseAnswer: (match) => new Promise<void>((lost) => (losing = { match, lost })),
    restore() {
      open = true;
    },
    stop() {
      cut();
      listener.stop(true);
    },
  };
}
