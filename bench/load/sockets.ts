// Opening many WebSockets at once without drowning the server in handshakes.
export interface Opened {
  ws: WebSocket;
}

export async function openSockets(urls: string[], headers: (i: number) => Record<string, string>, onMessage: (i: number, data: string) => void, concurrency = 200): Promise<WebSocket[]> {
  const sockets: WebSocket[] = new Array(urls.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < urls.length; i = next++) {
      const ws = new WebSocket(urls[i]!, { headers: headers(i) } as unknown as string[]);
      const index = i;
      ws.onmessage = (event) => onMessage(index, event.data as string);
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error(`socket ${i} failed to open`));
      });
      sockets[i] = ws;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return sockets;
}

export function closeAll(sockets: WebSocket[]): void {
  for (const ws of sockets) ws?.close();
}
