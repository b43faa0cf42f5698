// A TCP forwarder the test controls: clients connect to it, it connects them on to a real
// service. `cut()` drops every connection and refuses new ones (the service "went away" as
// far as Parley can tell); `restore()` lets them through again.
import type { Socket, TCPSocketListener } from "bun";
import { freePort } from "./cluster.ts";

interface Pair {
  client: Socket<Pair>;
  upstream: Socket<unknown> | null;
  queued: Uint8Array[];
}

export interface Forwarder {
  port: number;
  cut(): void;
  restore(): void;
  stop(): void;
}

export async function forward(targetPort: number): Promise<Forwarder> {
  const port = await freePort();
  const pairs = new Set<Pair>();
  let open = true;
  const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port,
    socket: {
      async open(client) {
        if (!open) return void client.end();
        const pair: Pair = { client, upstream: null, queued: [] };
        client.data = pair;
        pairs.add(pair);
        try {
          pair.upstream = await Bun.connect({
            hostname: "127.0.0.1",
            port: targetPort,
            socket: {
              data: (_s, chunk) => void client.write(chunk),
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
    restore() {
      open = true;
    },
    stop() {
      cut();
      listener.stop(true);
    },
  };
}
