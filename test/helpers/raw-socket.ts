// A WebSocket client made by hand on a TCP socket, so a test can stop reading (pause) the way
// a stalled phone does, which no WebSocket API allows.
import { connect, type Socket } from "node:net";

export class RawSocket {
  private constructor(readonly tcp: Socket) {}
  /** True once the server has closed the connection (seen when reading resumes). */
  ended = false;

  static async open(port: number, headers: Record<string, string>): Promise<RawSocket> {
    const tcp = connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      tcp.once("connect", resolve);
      tcp.once("error", reject);
    });
    const lines = [
      "GET /api/v1/ws HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ];
    tcp.write(lines.join("\r\n"));
    await new Promise<void>((resolve, reject) => {
      let head = "";
      const onData = (chunk: Buffer) => {
        head += chunk.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        tcp.off("data", onData);
        if (!head.startsWith("HTTP/1.1 101")) reject(new Error(head.split("\r\n")[0]));
        else resolve();
      };
      tcp.on("data", onData);
    });
    const raw = new RawSocket(tcp);
    tcp.on("end", () => (raw.ended = true));
    tcp.on("close", () => (raw.ended = true));
    tcp.on("error", () => (raw.ended = true));
    return raw;
  }

  /** Sends a masked text frame, as clients must. */
  send(frame: unknown): void {
    const payload = Buffer.from(JSON.stringify(frame));
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
    const body = Buffer.alloc(payload.length);
    for (let i = 0; i < payload.length; i++) body[i] = payload[i]! ^ mask[i % 4]!;
    this.tcp.write(Buffer.concat([header, Buffer.from(mask), body]));
  }

  /** Stops reading: the kernel buffers fill, and the server sees backpressure. */
  pause(): void {
    this.tcp.pause();
  }

  /** Reads (and throws away) everything until the server closes the connection. */
  async drainUntilClosed(timeoutMs: number): Promise<boolean> {
    this.tcp.on("data", () => {});
    this.tcp.resume();
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await Bun.sleep(20);
    return this.ended;
  }

  destroy(): void {
    this.tcp.destroy();
  }
}
