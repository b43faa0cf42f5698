// Parley's page script: the "little script" that makes server-rendered pages live.
// Every page works without it. With it:
// - times show in the reader's own zone (and the zone is kept in a cookie for the server);
// - the conversation page receives messages live over WebSocket, or over Server-Sent Events
//   when a WebSocket cannot connect; after any drop it reconnects (exponential backoff with
//   full jitter) and resumes from the last seq it showed, so it never shows a message twice
//   or out of order;
// - Ctrl+Enter (Cmd+Enter on a Mac) sends; a message shows as pending until the server has
//   stored it, is sent again with the same clientId after a reconnect (so it is stored once),
//   and shows as failed with a retry button if the server refused it;
// - the conversation list follows the person's feed and updates itself.
"use strict";
(() => {
  const body = document.body;
  const lang = body.dataset.lang || "en";
  const me = body.dataset.me || "";
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const strings = JSON.parse(document.getElementById("strings")?.dataset.strings || "{}");

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
  document.addEventListener("htmx:after:swap", () => showTimes(document));

  const status = document.getElementById("status");
  const setStatus = (state) => {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = strings[state] || "";
  };

  /**
   * One live connection that survives anything: WebSocket first; if it never opens, SSE.
   * `subscribeFrame()` says what to follow from where (it is asked again on every reconnect,
   * so it resumes from what the page shows); `sseUrl()` is the same for an event stream.
   */
  function live({ subscribeFrame, sseUrl, onFrame, onLive }) {
    let transport = null;
    let attempts = 0;
    let everOpened = false;
    let useSse = typeof window.WebSocket !== "function";
    let timer = null;

    // Full jitter: a restarted server must not see every client come back in the same instant.
    const backoff = () => Math.random() * Math.min(30_000, 500 * 2 ** Math.min(attempts++, 10));
    function reconnect() {
      setStatus("reconnecting");
      clearTimeout(timer);
      timer = setTimeout(connect, backoff());
    }
    function connect() {
      transport = useSse ? sse() : ws();
    }

    function ws() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(`${scheme}//${location.host}/api/v1/ws?view=html`);
      let open = false;
      let closedByUs = false;
      const t = {
        kind: "ws",
        send(frame) {
          if (!open) return false;
          socket.send(JSON.stringify(frame));
          return true;
        },
        restart() {
          closedByUs = true;
          socket.close(1000);
          reconnect();
        },
        stop() {
          closedByUs = true;
          socket.close(1000);
        },
      };
      socket.onopen = () => {
        open = true;
        everOpened = true;
        socket.send(JSON.stringify(subscribeFrame()));
      };
      socket.onmessage = (event) => {
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch {
          return;
        }
        if (frame.type === "subscribed") {
          attempts = 0;
          setStatus("live");
          onLive(t);
        } else onFrame(frame, t);
      };
      socket.onclose = (event) => {
        open = false;
        if (closedByUs) return;
        if (event.code === 4401) return void (location.href = "/login"); // session gone: no loop
        if (!everOpened) useSse = true; // blocked, or a proxy that will not pass it: fall back
        reconnect();
      };
      return t;
    }

    function sse() {
      const source = new EventSource(sseUrl());
      let closed = false;
      const t = {
        kind: "sse",
        send: () => false, // SSE only receives; sends go as plain POSTs
        restart() {
          t.stop();
          reconnect();
        },
        stop() {
          closed = true;
          source.close();
        },
      };
      const handle = (event) => {
        try {
          onFrame(JSON.parse(event.data), t);
        } catch {
          /* not ours */
        }
      };
      source.addEventListener("message", handle);
      source.addEventListener("feed", handle);
      source.addEventListener("subscribed", () => {
        attempts = 0;
        setStatus("live");
        onLive(t);
      });
      source.addEventListener("reset", () => location.reload());
      source.addEventListener("error", () => {
        if (closed) return;
        // EventSource would retry by itself, without jitter and from its own cursor: do it ours.
        t.stop();
        reconnect();
      });
      return t;
    }

    window.addEventListener("online", () => {
      if (status?.dataset.state === "live") return;
      clearTimeout(timer);
      transport?.stop();
      connect();
    });
    setStatus("connecting");
    connect();
    return {
      send: (frame) => transport?.send(frame) ?? false,
      restart: () => transport?.restart(),
    };
  }

  async function postJson(url, payload) {
    return fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(payload),
      credentials: "same-origin",
    });
  }

  const chat = document.getElementById("chat");
  if (chat && chat.dataset.live === "true") conversation(chat);
  const threads = document.getElementById("threads");
  if (threads) conversationList(threads);

  // ---- a conversation ------------------------------------------------------------------
  function conversation(root) {
    const threadId = Number(root.dataset.threadId);
    const list = document.getElementById("messages");
    const form = document.getElementById("compose");
    const textarea = document.getElementById("compose-text");
    const counters = {
      total: document.getElementById("count-total"),
      sent: document.getElementById("count-sent"),
      received: document.getElementById("count-received"),
    };
    let lastSeq = Number(root.dataset.lastSeq) || 0;
    /** Sends not yet stored, by clientId, in the order they were typed. */
    const outbox = new Map();
    let readTimer = null;
    let connection = null;

    const bump = (el) => {
      if (el) el.textContent = String(Number(el.textContent) + 1);
    };
    const nearBottom = () => window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
    const byClientId = (clientId, states) =>
      list.querySelector(states.map((s) => `li.${s}[data-client-id="${CSS.escape(clientId)}"]`).join(","));

    function showMessage(frame) {
      if (frame.threadId !== threadId || frame.seq <= lastSeq) return; // seen already
      if (frame.seq !== lastSeq + 1) return void connection.restart(); // a hole: resume from what is shown
      const follow = nearBottom();
      const holder = document.createElement("template");
      holder.innerHTML = frame.html;
      const item = holder.content.firstElementChild;
      if (String(frame.senderId) === me) item.classList.add("mine");
      // Confirmed messages go in seq order, above any still pending (which stay at the bottom).
      const pending = frame.clientId ? byClientId(frame.clientId, ["pending", "failed"]) : null;
      pending?.remove();
      const firstUnconfirmed = list.querySelector("li.pending, li.failed");
      if (firstUnconfirmed) firstUnconfirmed.before(item);
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
      readTimer = setTimeout(() => {
        if (!connection.send({ type: "read", threadId, seq: lastSeq })) postJson(`/api/v1/threads/${threadId}/read`, { seq: lastSeq }).catch(() => {});
      }, 300);
    }
    document.addEventListener("visibilitychange", scheduleRead);

    function refused(clientId, code) {
      const item = byClientId(clientId, ["pending"]);
      if (!item) return;
      outbox.delete(clientId);
      item.classList.replace("pending", "failed");
      const note = item.querySelector(".delivery");
      note.textContent = (strings.errors && strings.errors[code]) || strings.failed || "";
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "link retry";
      retry.textContent = strings.retry || "Retry";
      retry.addEventListener("click", () => {
        item.classList.replace("failed", "pending");
        note.textContent = strings.pending || "";
        outbox.set(clientId, item.dataset.text);
        deliver(clientId, item.dataset.text);
      });
      note.append(retry);
    }

    /** Over the socket when it is open; otherwise a plain POST, which works with SSE too. */
    async function deliver(clientId, text) {
      if (connection.send({ type: "send", threadId, text, clientId })) return;
      try {
        const response = await postJson(`/api/v1/threads/${threadId}/messages`, { text, clientId });
        if (response.ok) return void outbox.delete(clientId); // the stream brings the message itself
        if (response.status >= 500 || response.status === 429) return; // kept: sent again when live
        const payload = await response.json().catch(() => ({}));
        refused(clientId, payload.error?.code || "bad_request");
      } catch {
        /* offline: kept in the outbox, sent again when the connection is back */
      }
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
      deliver(clientId, text);
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });

    connection = live({
      subscribeFrame: () => ({ type: "subscribe", threadId, after: lastSeq }),
      sseUrl: () => `/api/v1/threads/${threadId}/events?view=html&after=${lastSeq}`,
      onLive: () => {
        for (const [clientId, text] of outbox) deliver(clientId, text); // same clientIds: stored once
        scheduleRead();
      },
      onFrame: (frame) => {
        if (frame.type === "message") showMessage(frame);
        else if (frame.type === "ack") outbox.delete(frame.clientId);
        else if (frame.type === "error" && frame.clientId) {
          if (frame.code === "unavailable" || frame.code === "rate_limited") return; // kept: sent again when live
          refused(frame.clientId, frame.code);
        } else if (frame.type === "error" && frame.code === "not_found" && frame.threadId === threadId) location.reload();
        else if (frame.type === "reset") location.reload(); // too far behind: the page reloads the rest
      },
    });
  }

  // ---- the conversation list -----------------------------------------------------------
  function conversationList(ul) {
    let cursor = ul.dataset.cursor || null;
    const baseTitle = document.title;

    function showUnread() {
      const unread = [...ul.querySelectorAll("li.thread")].reduce((n, li) => n + (Number(li.dataset.unread) || 0), 0);
      document.title = unread > 0 ? `(${unread}) ${baseTitle}` : baseTitle;
    }

    /** The server renders the item, in this person's language, with their counts. */
    async function refresh(threadId, moveToTop) {
      const response = await fetch(`/messages/threads/${threadId}`, { headers: { accept: "text/html" }, credentials: "same-origin" });
      if (!response.ok) return;
      const holder = document.createElement("template");
      holder.innerHTML = (await response.text()).trim();
      const item = holder.content.firstElementChild;
      if (!item) return;
      showTimes(item);
      const existing = document.getElementById(`thread-${threadId}`);
      if (existing && !moveToTop) existing.replaceWith(item);
      else {
        existing?.remove();
        ul.prepend(item);
      }
      document.querySelector(".threads .empty")?.remove();
      showUnread();
    }

    showUnread();
    live({
      subscribeFrame: () => (cursor ? { type: "subscribe", feed: "me", after: cursor } : { type: "subscribe", feed: "me" }),
      sseUrl: () => `/api/v1/events${cursor ? `?after=${encodeURIComponent(cursor)}` : ""}`,
      onLive: () => {},
      onFrame: (frame) => {
        if (frame.type !== "feed") return;
        if (frame.cursor) cursor = frame.cursor;
        const li = document.getElementById(`thread-${frame.thread.id}`);
        const known = li ? Number(li.dataset.lastSeq) : -1;
        if (frame.change === "message" && frame.thread.lastSeq <= known) return; // seen already
        if (frame.change === "thread" && li && frame.thread.lastSeq === known && String(frame.thread.unread) === li.dataset.unread) return;
        refresh(frame.thread.id, frame.change !== "read" && frame.thread.lastSeq > known);
      },
    });
  }
})();
