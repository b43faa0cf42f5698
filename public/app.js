// Parley's page script: the "little script" that makes server-rendered pages live.
// Every page works without it. With it:
// - times show in the reader's own zone (and the zone is kept in a cookie for the server);
// - a conversation receives messages live over WebSocket, or over Server-Sent Events when a
//   WebSocket cannot connect, resumes from the last seq it showed after any drop, and never
//   shows a message twice or out of order;
// - Ctrl+Enter (Cmd+Enter on a Mac) sends; a message shows as pending until the server has
//   stored it, is sent again with the same clientId after a reconnect (so it is stored once),
//   and shows as failed with a retry button if the server refused it.
"use strict";
(() => {
  const body = document.body;
  const lang = body.dataset.lang || "en";
  const me = body.dataset.me || "";
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

  // ---- time zone and times -------------------------------------------------------------
  const cookieZone = (document.cookie.match(/(?:^|;\s*)tz=([^;]*)/) || [])[1];
  if (decodeURIComponent(cookieZone || "") !== zone) {
    document.cookie = `tz=${encodeURIComponent(zone)}; path=/; max-age=31536000; samesite=lax`;
  }
  const dayFormat = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
  const timeFormat = new Intl.DateTimeFormat(lang, { timeZone: zone, hour: "2-digit", minute: "2-digit" });
  const dateFormat = new Intl.DateTimeFormat(lang, { timeZone: zone, dateStyle: "medium", timeStyle: "short" });
  function showTimes(root) {
    const today = dayFormat.format(new Date());
    for (const el of root.querySelectorAll("time[datetime]")) {
      const date = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) continue;
      el.textContent = (dayFormat.format(date) === today ? timeFormat : dateFormat).format(date);
      el.title = dateFormat.format(date);
    }
  }
  showTimes(document);
  document.addEventListener("htmx:after:swap", (event) => {
    const target = event.detail && event.detail.ctx && event.detail.ctx.target;
    showTimes(target && target.isConnected ? target.parentNode || document : document);
  });

  const chat = document.getElementById("chat");
  if (chat && chat.dataset.live === "true") liveConversation(chat);

  // ---- a conversation, live ------------------------------------------------------------
  function liveConversation(root) {
    const threadId = Number(root.dataset.threadId);
    const list = document.getElementById("messages");
    const form = document.getElementById("compose");
    const textarea = document.getElementById("compose-text");
    const status = document.getElementById("status");
    const strings = JSON.parse(document.getElementById("strings")?.dataset.strings || "{}");
    const counters = {
      total: document.getElementById("count-total"),
      sent: document.getElementById("count-sent"),
      received: document.getElementById("count-received"),
    };
    let lastSeq = Number(root.dataset.lastSeq) || 0;
    /** Sends not yet acknowledged, by clientId, in the order they were typed. */
    const outbox = new Map();
    let transport = null;
    let attempts = 0;
    let everOpened = false;
    let useSse = typeof window.WebSocket !== "function";
    let readTimer = null;

    const setStatus = (state) => {
      status.dataset.state = state;
      status.textContent = strings[state] || "";
    };
    const bump = (el) => {
      if (el) el.textContent = String(Number(el.textContent) + 1);
    };
    const nearBottom = () => window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;

    // Full jitter: a restart must not bring every client back in the same instant.
    const backoff = () => Math.random() * Math.min(30_000, 500 * 2 ** Math.min(attempts++, 10));

    function onMessageFrame(frame) {
      if (frame.threadId !== threadId || frame.seq <= lastSeq) return; // seen already
      if (frame.seq !== lastSeq + 1) {
        // A hole: the server promises none, so reconnect and resume from what is shown.
        transport?.restart();
        return;
      }
      const follow = nearBottom();
      const pending = frame.clientId ? list.querySelector(`li.pending[data-client-id="${CSS.escape(frame.clientId)}"], li.failed[data-client-id="${CSS.escape(frame.clientId)}"]`) : null;
      const holder = document.createElement("template");
      holder.innerHTML = frame.html;
      const item = holder.content.firstElementChild;
      if (String(frame.senderId) === me) item.classList.add("mine");
      if (pending) pending.replaceWith(item);
      else list.append(item);
      if (frame.clientId) outbox.delete(frame.clientId);
      showTimes(item);
      lastSeq = frame.seq;
      bump(counters.total);
      bump(String(frame.senderId) === me ? counters.sent : counters.received);
      if (follow) item.scrollIntoView({ block: "end" });
      scheduleRead();
    }

    function scheduleRead() {
      if (document.visibilityState !== "visible") return;
      clearTimeout(readTimer);
      readTimer = setTimeout(() => transport?.read(lastSeq), 300);
    }
    document.addEventListener("visibilitychange", scheduleRead);

    function onRefused(clientId, code) {
      const item = list.querySelector(`li.pending[data-client-id="${CSS.escape(clientId)}"]`);
      if (!item) return;
      outbox.delete(clientId);
      item.classList.replace("pending", "failed");
      const note = item.querySelector(".delivery");
      note.textContent = (strings.errors && strings.errors[code]) || strings.failed || "";
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "link";
      retry.textContent = strings.retry || "Retry";
      retry.addEventListener("click", () => {
        item.classList.replace("failed", "pending");
        note.textContent = strings.pending || "";
        outbox.set(clientId, item.dataset.text);
        transport?.send(clientId, item.dataset.text);
      });
      note.append(retry);
    }

    function pendingItem(clientId, text) {
      const item = document.createElement("li");
      item.className = "msg mine pending";
      item.dataset.clientId = clientId;
      item.dataset.text = text;
      const meta = document.createElement("div");
      meta.className = "meta";
      const note = document.createElement("span");
      note.className = "delivery";
      note.textContent = strings.pending || "";
      meta.append(note);
      const content = document.createElement("div");
      content.className = "text";
      content.textContent = text;
      item.append(meta, content);
      return item;
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = textarea.value;
      if (text.trim() === "") return;
      const clientId = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
      outbox.set(clientId, text);
      list.append(pendingItem(clientId, text));
      list.lastElementChild.scrollIntoView({ block: "end" });
      textarea.value = "";
      transport?.send(clientId, text);
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });

    // -- WebSocket: receive and send on one connection ----------------------------------
    function webSocketTransport() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(`${scheme}//${location.host}/api/v1/ws?view=html`);
      let open = false;
      let closedByUs = false;
      const t = {
        send(clientId, text) {
          if (open) ws.send(JSON.stringify({ type: "send", threadId, text, clientId }));
        },
        read(seq) {
          if (open) ws.send(JSON.stringify({ type: "read", threadId, seq }));
        },
        restart() {
          closedByUs = true;
          ws.close(1000);
          reconnect();
        },
        stop() {
          closedByUs = true;
          ws.close(1000);
        },
      };
      ws.onopen = () => {
        open = true;
        everOpened = true;
        ws.send(JSON.stringify({ type: "subscribe", threadId, after: lastSeq }));
      };
      ws.onmessage = (event) => {
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch {
          return;
        }
        if (frame.type === "message") onMessageFrame(frame);
        else if (frame.type === "subscribed" && frame.threadId === threadId) {
          attempts = 0;
          setStatus("live");
          for (const [clientId, text] of outbox) t.send(clientId, text); // same clientIds: stored once
          scheduleRead();
        } else if (frame.type === "ack") outbox.delete(frame.clientId);
        else if (frame.type === "error" && frame.clientId) onRefused(frame.clientId, frame.code);
        else if (frame.type === "error" && frame.code === "not_found" && frame.threadId === threadId) location.reload();
        else if (frame.type === "reset" && frame.threadId === threadId) location.reload(); // too far behind: the page reloads the rest
      };
      ws.onclose = (event) => {
        open = false;
        if (closedByUs) return;
        if (event.code === 4401) return void (location.href = "/login"); // session gone: no reconnect loop
        if (event.code === 4403 || event.code === 1008) return void setStatus("reconnecting");
        if (!everOpened && attempts >= 1) useSse = true; // blocked or unsupported: fall back
        reconnect();
      };
      return t;
    }

    // -- Server-Sent Events to receive, plain POSTs to send -------------------------------
    function sseTransport() {
      const source = new EventSource(`/api/v1/threads/${threadId}/events?view=html&after=${lastSeq}`);
      let closed = false;
      const post = (url, payload) =>
        fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify(payload),
          credentials: "same-origin",
        });
      const t = {
        async send(clientId, text) {
          try {
            const response = await post(`/api/v1/threads/${threadId}/messages`, { text, clientId });
            if (response.ok) return void outbox.delete(clientId); // the stream brings the message itself
            const body = await response.json().catch(() => ({}));
            if (response.status >= 500) return; // kept in the outbox: sent again on reconnect
            onRefused(clientId, body.error?.code || "bad_request");
          } catch {
            /* offline: kept in the outbox */
          }
        },
        read(seq) {
          post(`/api/v1/threads/${threadId}/read`, { seq }).catch(() => {});
        },
        restart() {
          t.stop();
          reconnect();
        },
        stop() {
          closed = true;
          source.close();
        },
      };
      source.addEventListener("open", () => {
        attempts = 0;
        setStatus("live");
        for (const [clientId, text] of outbox) t.send(clientId, text);
        scheduleRead();
      });
      source.addEventListener("message", (event) => {
        try {
          onMessageFrame(JSON.parse(event.data));
        } catch {
          /* not ours */
        }
      });
      source.addEventListener("reset", () => location.reload());
      source.addEventListener("error", () => {
        if (closed) return;
        // EventSource would retry on its own, without jitter and from its own cursor: do it ours.
        source.close();
        closed = true;
        reconnect();
      });
      return t;
    }

    let timer = null;
    function reconnect() {
      setStatus("reconnecting");
      clearTimeout(timer);
      timer = setTimeout(connect, backoff());
    }
    function connect() {
      transport = useSse ? sseTransport() : webSocketTransport();
    }
    window.addEventListener("online", () => {
      if (status.dataset.state !== "live") {
        clearTimeout(timer);
        transport?.stop();
        connect();
      }
    });
    setStatus("connecting");
    connect();
  }
})();
