// The baseline: a bare Bun server doing the least the same work could take. WebSocket: every
// socket joins one topic; a frame "pub <text>" is published to it (fan-out). HTTP: a static
// page of the size of Parley's list page. Nothing is stored, authenticated or counted.
const port = Number(process.argv[2] ?? 0);
const page = `<!doctype html><html><body>${"<li class=\"thread\"><a href=\"/chat/1\">someone — 3 messages — hello there</a></li>".repeat(100)}</body></html>`;

const server = Bun.serve({
  port,
  hostname: "127.0.0.1",
  fetch(request, server) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    if (url.pathname === "/page") return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
    if (url.pathname === "/ws" && server.upgrade(request)) return;
    return new Response("not found", { status: 404 });
  },
  websocket: {
    perMessageDeflate: false,
    open(ws) {
      ws.subscribe("all");
    },
    message(ws, message) {
      const text = String(message);
      if (text.startsWith("pub ")) server.publish("all", text.slice(4));
    },
  },
});
