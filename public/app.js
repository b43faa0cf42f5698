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
   * Each subscription says what to follow from where: `frame()` for the socket and `sseUrl()`
   * for an event stream, asked again on every reconnect, so it resumes from what the page
   * shows. The first subscription is the one that makes the page "live".
   */
  function live({ subscriptions, onFrame, onLive }) {
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
        for (const sub of subscriptions) socket.send(JSON.stringify(sub.frame()));
      };
      socket.onmessage = (event) => {
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch {
          return;
        }
        if (frame.type === "subscribed") {
          if (frame.feed && subscriptions[0].feed !== true) return; // a second subscription
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
      const sources = subscriptions.map((sub) => new EventSource(sub.sseUrl()));
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
          for (const source of sources) source.close();
        },
      };
      const handle = (event) => {
        try {
          onFrame(JSON.parse(event.data), t);
        } catch {
          /* not ours */
        }
      };
      sources.forEach((source, i) => {
        for (const name of ["message", "feed", "skip", "typing", "receipt"]) source.addEventListener(name, handle);
        if (i === 0) {
          source.addEventListener("subscribed", () => {
            attempts = 0;
            setStatus("live");
            onLive(t);
          });
        }
        source.addEventListener("reset", () => location.reload());
        source.addEventListener("error", () => {
          if (closed) return;
          // EventSource would retry by itself, without jitter and from its own cursor: do it ours.
          t.stop();
          reconnect();
        });
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

    /** A message from someone this person blocked: not shown, but its seq is not a hole. */
    function skip(frame) {
      if (frame.threadId !== threadId || frame.seq <= lastSeq) return;
      if (frame.seq !== lastSeq + 1) return void connection.restart();
      lastSeq = frame.seq;
    }

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
      if (frame.kind !== "system") {
        bump(counters.total);
        bump(String(frame.senderId) === me ? counters.sent : counters.received);
        typingStopped(frame.senderId);
        // Answering a message request accepted it.
        if (String(frame.senderId) === me) document.getElementById("request-banner")?.remove();
      }
      if (follow) item.scrollIntoView({ block: "end" });
      scheduleRead();
    }

    // -- read receipts: "Seen" under the last of my messages the other side has read -----
    function showSeen(readSeq) {
      const label = strings.seen || "Seen";
      const mine = [...list.querySelectorAll(`li.msg.mine[data-seq]`)].filter((li) => Number(li.dataset.seq) <= readSeq);
      const target = mine.at(-1);
      for (const li of list.querySelectorAll("li[data-seen]")) if (li !== target) delete li.dataset.seen;
      if (target) target.dataset.seen = label;
    }

    // -- typing: shown for 5 s after the last signal, or until their message arrives ------
    const typingNow = new Map();
    const typingLine = document.getElementById("typing");
    function renderTyping() {
      const names = [...typingNow.values()].map((t) => t.name);
      typingLine.textContent = names.length ? (typingLine.dataset.template || "{name}…").replace("{name}", names.join(", ")) : "";
    }
    function typingStarted(user) {
      if (String(user.id) === me) return;
      clearTimeout(typingNow.get(user.id)?.timer);
      typingNow.set(user.id, { name: user.username, timer: setTimeout(() => typingStopped(user.id), 5000) });
      renderTyping();
    }
    function typingStopped(userId) {
      const entry = typingNow.get(Number(userId));
      if (!entry) return;
      clearTimeout(entry.timer);
      typingNow.delete(Number(userId));
      renderTyping();
    }
    let lastTypingSent = 0;
    textarea.addEventListener("input", () => {
      // At most every 3 s while typing; never stored anywhere.
      if (Date.now() - lastTypingSent < 3000 || textarea.value.trim() === "") return;
      lastTypingSent = Date.now();
      if (!connection.send({ type: "typing", threadId })) postJson(`/api/v1/threads/${threadId}/typing`, {}).catch(() => {});
    });

    // -- presence of the other side of a 1:1 -------------------------------------------
    const presence = document.getElementById("presence");
    function showPresence(change) {
      if (!presence || String(change.userId) !== root.dataset.partnerId) return;
      presence.hidden = !change.online && !change.lastSeen;
      presence.classList.toggle("online", change.online);
      presence.textContent = change.online ? strings.online || "online" : "";
      if (!change.online && change.lastSeen) {
        const [before, after = ""] = (strings.lastSeen || "last seen {time}").split("{time}");
        const time = document.createElement("time");
        time.setAttribute("datetime", change.lastSeen);
        presence.append(before, time, after);
        showTimes(presence);
      }
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

    if (root.dataset.seenSeq) showSeen(Number(root.dataset.seenSeq));
    let feedCursor = null;
    connection = live({
      subscriptions: [
        { frame: () => ({ type: "subscribe", threadId, after: lastSeq }), sseUrl: () => `/api/v1/threads/${threadId}/events?view=html&after=${lastSeq}` },
        // The person's feed: presence of the people they talk to.
        {
          feed: true,
          frame: () => (feedCursor ? { type: "subscribe", feed: "me", after: feedCursor } : { type: "subscribe", feed: "me" }),
          sseUrl: () => `/api/v1/events${feedCursor ? `?after=${encodeURIComponent(feedCursor)}` : ""}`,
        },
      ],
      onLive: () => {
        for (const [clientId, text] of outbox) deliver(clientId, text); // same clientIds: stored once
        scheduleRead();
      },
      onFrame: (frame) => {
        if (frame.type === "message") showMessage(frame);
        else if (frame.type === "skip") skip(frame);
        else if (frame.type === "typing" && frame.threadId === threadId) typingStarted(frame.user);
        else if (frame.type === "receipt" && frame.threadId === threadId && String(frame.userId) !== me) showSeen(frame.readSeq);
        else if (frame.type === "feed") {
          if (frame.cursor) feedCursor = frame.cursor;
          if (frame.change === "presence") showPresence(frame);
          if (frame.change === "removed" && frame.thread.id === threadId) location.reload();
        } else if (frame.type === "unsubscribed" && frame.threadId === threadId) location.reload(); // removed: the page says so
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
    const requests = document.getElementById("requests");
    const requestsSection = document.getElementById("requests-section");

    function showUnread() {
      // Requests do not count: a stranger's messages should not raise the badge.
      const unread = [...ul.querySelectorAll("li.thread")].reduce((n, li) => n + (Number(li.dataset.unread) || 0), 0);
      document.title = unread > 0 ? `(${unread}) ${baseTitle}` : baseTitle;
    }

    /**
     * The server renders the item, in this person's language, with their counts; a busy
     * conversation is fetched at most once every REFRESH_MS.
     */
    const REFRESH_MS = 500;
    const waiting = new Map();
    function refresh(threadId, moveToTop) {
      const pending = waiting.get(threadId);
      if (pending) {
        pending.moveToTop ||= moveToTop;
        return;
      }
      waiting.set(threadId, { moveToTop });
      setTimeout(() => {
        const { moveToTop: top } = waiting.get(threadId);
        waiting.delete(threadId);
        fetchItem(threadId, top);
      }, REFRESH_MS);
    }
    async function fetchItem(threadId, moveToTop) {
      const response = await fetch(`/messages/threads/${threadId}`, { headers: { accept: "text/html" }, credentials: "same-origin" });
      if (!response.ok) return;
      const holder = document.createElement("template");
      holder.innerHTML = (await response.text()).trim();
      const item = holder.content.firstElementChild;
      if (!item) return;
      showTimes(item);
      const existing = document.getElementById(`thread-${threadId}`);
      // A message request goes to Requests, anything else to the list.
      const into = item.dataset.status === "request" ? requests : ul;
      if (existing && existing.parentElement === into && !moveToTop) existing.replaceWith(item);
      else {
        existing?.remove();
        into.prepend(item);
      }
      requestsSection.hidden = requests.children.length === 0;
      document.querySelector(".threads .empty")?.remove();
      showUnread();
    }

    function removeItem(threadId) {
      document.getElementById(`thread-${threadId}`)?.remove();
      requestsSection.hidden = requests.children.length === 0;
      showUnread();
    }

    showUnread();
    live({
      subscriptions: [
        {
          feed: true,
          frame: () => (cursor ? { type: "subscribe", feed: "me", after: cursor } : { type: "subscribe", feed: "me" }),
          sseUrl: () => `/api/v1/events${cursor ? `?after=${encodeURIComponent(cursor)}` : ""}`,
        },
      ],
      onLive: () => {},
      onFrame: (frame) => {
        if (frame.type !== "feed") return;
        if (frame.cursor) cursor = frame.cursor;
        if (frame.change === "presence") return;
        if (frame.change === "removed") return void removeItem(frame.thread.id);
        const li = document.getElementById(`thread-${frame.thread.id}`);
        const known = li ? Number(li.dataset.lastSeq) : -1;
        if (frame.change === "message" && frame.thread.lastSeq <= known) return; // seen already
        if (frame.change === "thread" && li && frame.thread.lastSeq === known && String(frame.thread.unread) === li.dataset.unread) return;
        refresh(frame.thread.id, frame.change !== "read" && frame.thread.lastSeq > known);
      },
    });
  }
})();
