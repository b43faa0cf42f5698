// A process that holds many WebSockets open (one process tops out near 20,000 open files):
// it opens them from a plan file, subscribes each, says "ready <ms>" on stdout, and closes
// them all when its stdin closes. Args: plan.json (array of {url, headers, subscribe}).
const plan: { url: string; headers: Record<string, string>; subscribe: string | null }[] = await Bun.file(process.argv[2]!).json();
const sockets: WebSocket[] = [];
let next = 0;
let acknowledged = 0;
const started = performance.now();
const open = async () => {
  for (let i = next++; i < plan.length; i = next++) {
    const p = plan[i]!;
    const ws = new WebSocket(p.url, { headers: p.headers } as unknown as string[]);
    ws.onmessage = (event) => {
      if (String(event.data).includes('"subscribed"')) acknowledged++;
    };
    await new Promise<void>((resolve) => {
      ws.onopen = () => resolve();
      ws.onerror = () => resolve();
    });
    if (p.subscribe) ws.send(p.subscribe);
    else acknowledged++;
    sockets.push(ws);
    if (sockets.length % 1000 === 0) process.stderr.write(`  worker: ${sockets.length}/${plan.length} open\n`);
  }
};
await Promise.all(Array.from({ length: 100 }, open));
const deadline = performance.now() + 60_000;
while (acknowledged < plan.length && performance.now() < deadline) await Bun.sleep(20);
const open_ = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
console.log(`ready ${Math.round(performance.now() - started)} ${open_} ${acknowledged}`);
for await (const _ of Bun.stdin.stream() as unknown as AsyncIterable<Uint8Array>) {
  /* wait for stdin to close */
}
for (const ws of sockets) ws.close();
process.exit(0);
