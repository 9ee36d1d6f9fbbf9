// The WebSocket client every page uses: one connection per page, a visible connection state,
// seq-gap detection (ask for a snapshot), reconnection (at once when the page comes back,
// jittered backoff otherwise), and commands that survive a dropped socket or a reload: each
// carries a client id, is kept until the server answers it, and is resent with the same id
// (the server returns the first result for a repeated id).
//
// Message names live in protocol.js; this file only knows `seq`, `ref` and `id`.

import { P } from "./protocol.js";

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15000;
const PING_MS = 20000;
const SILENT_MS = 50000;      // no frame at all for this long (pings get pongs): the socket is dead
const WAKE_CHECK_MS = 6000;   // after a wake-up, a snapshot must arrive within this long
// Close 4013: the server could not send this socket a message (docs/protocol.md "Sizes"). One
// reconnect after this pause; a second 4013 within SEND_FAILED_WINDOW_MS is shown as an error
// instead of a reconnect loop.
const CLOSE_SEND_FAILED = 4013;
const SEND_FAILED_RETRY_MS = 2000;
const SEND_FAILED_WINDOW_MS = 120000;

// crypto.randomUUID needs a secure context; classrooms often use plain http on a LAN address.
export function newClientId() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function absoluteWsUrl(url) {
  if (/^wss?:\/\//.test(url)) return url;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return scheme + "//" + location.host + (url.startsWith("/") ? url : "/" + url);
}

export class GameSocket extends EventTarget {
  /**
   * @param {string} wsUrl  from the bootstrap
   * @param {object} opts   {storageKey}: where unanswered commands are kept across reloads
   */
  constructor(wsUrl, opts = {}) {
    super();
    this.url = absoluteWsUrl(wsUrl);
    this.ws = null;
    this.state = "connecting";
    this.seq = null;              // last seq applied; null until the first snapshot
    this.awaitingSnapshot = true; // deltas wait (buffered) until a snapshot arrives
    this.buffered = [];           // public messages received while awaiting a snapshot
    this.attempt = 0;
    this.timer = null;
    this.closedByUs = false;
    this.storageKey = opts.storageKey || null;
    this.pending = new Map();     // id -> {msg, resolve, reject}: sent, not yet answered
    this.pingTimer = null;
    this.lastFrameAt = Date.now();
    this.wakeTimer = null;
    this.sendFailedAt = null;     // when the server last closed with 4013
    this._restorePending();
    this._bindPageLifecycle();
  }

  connect() {
    this.closedByUs = false;
    if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)) return;
    clearTimeout(this.timer);
    this._setState(this.attempt === 0 && this.seq === null ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      this.awaitingSnapshot = true;   // the server sends a snapshot first, unasked
      this.buffered = [];
      this._setState("syncing");
      this._startPing();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      this._onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      if (this.closedByUs) { this._setState("closed"); return; }
      if (ev.code === CLOSE_SEND_FAILED) { this._sendFailed(ev); return; }
      if (P.isFatalClose(ev.code)) {
        this._setState("closed");
        this._emit("fatal", { code: ev.code, reason: ev.reason });
        return;
      }
      this._scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows; nothing to do here */ };
  }

  close() {
    this.closedByUs = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }

  /** Send a command; resolves with the server's answer (ack/fill/quote), rejects on error. */
  command(msg) {
    const id = msg.id || newClientId();
    const full = { ...msg, id };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { msg: full, resolve, reject });
      if (!P.isEphemeral(full)) this._savePending();
      if (this.state === "live") this._sendRaw(full);
      this._emit("pending", { count: this.pendingCount() });
    });
  }

  /** Fire-and-forget request that must not be resent after a reconnect (e.g. a quote). */
  request(msg) {
    return this.command({ ...msg, ephemeral: true });
  }

  pendingCount() {
    let n = 0;
    for (const p of this.pending.values()) if (!P.isEphemeral(p.msg)) n++;
    return n;
  }

  requestSnapshot() {
    this.awaitingSnapshot = true;
    this._sendRaw(P.snapshotRequest());
  }

  // --- internals ---

  _onMessage(msg) {
    // Replies settle the command they answer whatever their seq.
    const ref = P.refOf(msg);
    if (ref && this.pending.has(ref)) {
      const p = this.pending.get(ref);
      this.pending.delete(ref);
      this._savePending();
      if (P.isError(msg)) p.reject(msg); else p.resolve(msg);
      this._emit("pending", { count: this.pendingCount() });
    }
    const seq = typeof msg.seq === "number" ? msg.seq : null;
    if (P.isSnapshot(msg)) {
      this.seq = seq;
      this.awaitingSnapshot = false;
      this._setState("live");
      this._emit("snapshot", msg);
      // Public messages that came while it was on its way: those newer than it, in order.
      const held = this.buffered.filter((m) => m.seq > seq).sort((a, b) => a.seq - b.seq);
      this.buffered = [];
      for (const m of held) this._onMessage(m);
      // Anything unanswered (sent before a drop, or before a reload) goes again, same id.
      // Quotes are not resent: they were for a price that has moved; the UI asks again.
      for (const [id, p] of [...this.pending]) {
        if (P.isEphemeral(p.msg)) { this.pending.delete(id); p.reject({ code: "resync" }); }
        else this._sendRaw(p.msg);
      }
      return;
    }
    if (P.isPublic(msg)) {
      if (seq === null) return;
      if (this.awaitingSnapshot) {                        // buffer, don't drop (docs/protocol.md)
        if (this.buffered.length < 200) this.buffered.push(msg);
        return;
      }
      if (seq <= this.seq) return;                       // old or duplicate
      if (seq > this.seq + 1) {                           // a gap: resync
        this._emit("gap", { have: this.seq, got: seq });
        this.requestSnapshot();
        return;
      }
      this.seq = seq;
      this._emit("message", msg);
      return;
    }
    // Private messages and replies carry the current seq without advancing it: a larger seq
    // means a public message was missed.
    if (seq !== null && this.seq !== null && !this.awaitingSnapshot && seq > this.seq) {
      this._emit("gap", { have: this.seq, got: seq });
      this.requestSnapshot();
      if (!P.isReply(msg)) return;
    }
    if (this.awaitingSnapshot && !P.isReply(msg)) return;
    this._emit("message", msg);
  }

  _sendRaw(obj) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    const { ephemeral, ...wire } = obj;
    this.ws.send(JSON.stringify(wire));
    return true;
  }

  _startPing() {
    clearInterval(this.pingTimer);
    this.lastFrameAt = Date.now();
    // A ping every 20 s keeps idle connections open (the server keeps the seat's presence
    // itself while the socket is open), and its pong proves the socket is alive: a socket
    // silent for too long is given up.
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > SILENT_MS) { this._abandon(); return; }
      this._sendRaw(P.ping());
    }, PING_MS);
  }

  /** Drop a socket that looks dead without waiting for its close handshake, and reconnect. */
  _abandon() {
    const old = this.ws;
    this.ws = null;
    clearInterval(this.pingTimer);
    clearTimeout(this.wakeTimer);
    if (old) { try { old.close(); } catch (e) { /* already closing */ } }
    this._scheduleReconnect();
  }

  /** The server could not send us a message (4013): reconnect once (a fresh snapshot replaces
   *  what was missed); if that happens again soon, stop and say so rather than loop. */
  _sendFailed(ev) {
    const now = Date.now();
    if (this.sendFailedAt !== null && now - this.sendFailedAt < SEND_FAILED_WINDOW_MS) {
      this._setState("closed");
      this._emit("fatal", { code: ev.code, reason: ev.reason });
      return;
    }
    this.sendFailedAt = now;
    this._setState("reconnecting");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), SEND_FAILED_RETRY_MS + Math.floor(Math.random() * SEND_FAILED_RETRY_MS));
  }

  _scheduleReconnect() {
    clearTimeout(this.timer);
    if (navigator.onLine === false) {
      // Definitely offline: wait for the "online" event (a slow retry in case it never comes).
      this._setState("offline");
      this.timer = setTimeout(() => this.connect(), BACKOFF_MAX_MS * 2);
      return;
    }
    this._setState("reconnecting");
    // Full jitter so that thirty phones waking at once do not reconnect in lockstep.
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    const delay = Math.floor(Math.random() * cap) + 100;
    this.attempt++;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  _reconnectNow() {
    if (this.closedByUs) return;
    if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)) {
      // A phone back from sleep may hold a socket that is silently dead: ask for a snapshot,
      // which also catches up anything missed, and give the socket up if none comes.
      if (this.ws.readyState === WebSocket.OPEN) {
        const asked = Date.now();
        this.requestSnapshot();
        clearTimeout(this.wakeTimer);
        this.wakeTimer = setTimeout(() => { if (this.lastFrameAt < asked) this._abandon(); }, WAKE_CHECK_MS);
      }
      return;
    }
    this.attempt = 0;
    clearTimeout(this.timer);
    this.connect();
  }

  /** A page restored from the back-forward cache: the browser closed its socket when the page
   *  entered the cache, but the close event only arrives after `pageshow` (until then the
   *  socket still says OPEN). Replace it at once rather than wait for that close and a
   *  back-off, or for the wake check. */
  _reconnectRestored() {
    if (this.closedByUs) return;
    const old = this.ws;
    this.ws = null;             // its late close event is then ignored (ws !== this.ws)
    clearInterval(this.pingTimer);
    clearTimeout(this.wakeTimer);
    if (old) { try { old.close(); } catch (e) { /* already closed */ } }
    this.attempt = 0;
    clearTimeout(this.timer);
    this.connect();
  }

  _bindPageLifecycle() {
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this._reconnectNow();
    });
    window.addEventListener("pageshow", (ev) => { if (ev.persisted) this._reconnectRestored(); });
    window.addEventListener("online", () => this._reconnectNow());
    window.addEventListener("offline", () => this._setState("offline"));
  }

  _setState(s) {
    if (this.state === s) return;
    this.state = s;
    this._emit("state", { state: s, attempt: this.attempt });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _savePending() {
    if (!this.storageKey) return;
    try {
      const keep = [];
      for (const p of this.pending.values()) if (!P.isEphemeral(p.msg)) keep.push(p.msg);
      sessionStorage.setItem(this.storageKey, JSON.stringify(keep));
    } catch (e) { /* private mode: resend across reloads is best effort */ }
  }

  _restorePending() {
    if (!this.storageKey) return;
    try {
      const list = JSON.parse(sessionStorage.getItem(this.storageKey) || "[]");
      for (const msg of list) {
        if (msg && msg.id) {
          this.pending.set(msg.id, { msg, resolve: () => {}, reject: () => {} });
        }
      }
    } catch (e) { /* ignore a corrupt entry */ }
  }
}
