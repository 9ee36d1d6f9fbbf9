// Client state for one game, built from protocol v1 messages (docs/protocol.md). A snapshot
// replaces everything but the chart history: that is fetched after it from the snapshot's
// `history_url` (GET /g/<code>/history, columnar; docs/protocol.md "Chart history") and merged
// by tick with the rows `tick` messages bring meanwhile. The history is also kept in
// sessionStorage, so a reloaded page draws at once while the fetch is under way.

const HISTORY_MAX = 2000;     // ticks kept (= game/live/history.py MAX_TICKS)
const HISTORY_BLOCK = 64;     // ticks per request: a settled block is cached by the browser
const HISTORY_RETRY_MS = [1000, 3000, 8000];
const SUBNET_FIELDS = ["price", "moving_price", "share", "root_prop"];

// A roster row as sent leaves out the fields that have these values (game/readmodel.py
// ROSTER_DEFAULTS, docs/protocol.md "roster"); the state holds every field.
const ROSTER_DEFAULTS = { bot: null, subnet: null, connected: false, kicked: false, active: false,
  role_by_hand: false, stand_in: false, other_seat_attempts: 0 };

/** A roster as sent → rows with every field (null for a socket without one). */
export function fullRoster(rows) {
  return Array.isArray(rows) ? rows.map((r) => ({ ...ROSTER_DEFAULTS, ...r })) : rows;
}

/** The projector's token, sent as a header (not in the URL) to the history endpoint. */
function projectorToken() {
  try {
    const node = document.getElementById("bootstrap");
    return (node && JSON.parse(node.textContent).projector_token) || null;
  } catch (e) { return null; }
}

/** Rows from a columnar history answer: {ticks, epoch, subnets: [{id, price: [...], ...}]}.
 *  A subnet whose fields are all null at a tick did not exist then. */
export function rowsFromColumns(body) {
  const rows = [];
  const ticks = body.ticks || [];
  for (let i = 0; i < ticks.length; i++) {
    const subnets = [];
    for (const col of body.subnets || []) {
      const x = { id: col.id };
      let present = false;
      for (const f of SUBNET_FIELDS) { x[f] = col[f][i]; if (x[f] !== null && x[f] !== undefined) present = true; }
      if (present) subnets.push(x);
    }
    rows.push({ tick: ticks[i], epoch: (body.epoch || [])[i], subnets });
  }
  const e = body.epoch_rows || {};
  const epochs = (e.epoch || []).map((epoch, i) => ({ epoch, tick: e.tick[i], network_health: e.network_health[i] }));
  return { rows, epochs };
}

export class Store extends EventTarget {
  constructor(code, opts = {}) {
    super();
    this.code = code;
    this.projectorToken = opts.projectorToken !== undefined ? opts.projectorToken : projectorToken();
    // What this tab has fetched of the history: its URL and the last tick covered from the
    // first; `loading`/`error` are also in the state (s.historyLoading, s.historyError).
    this._hist = { url: null, upTo: -1, gen: 0 };
    // What each command this tab sent was (the server's snapshot lists a queued command by id
    // and `do` only), kept across reloads so a queued order can still be described.
    this._sent = new Map(this._load("sent"));
    this.s = {
      game: null, you: null, market: null, leaderboard: null, private: null, rank: null,
      commands: [], events: [], lobby: [], roster: null, players: 0,
      history: this._load("history"), epochs: this._load("epochs"), news: null, lastFills: [],
      historyLoading: false, historyError: false, nextRound: null,
    };
  }

  get state() { return this.s; }

  apply(msg) {
    const s = this.s;
    switch (msg.type) {
      case "snapshot":
        s.game = msg.game; s.you = msg.you; s.market = msg.market;
        s.leaderboard = msg.leaderboard; s.private = msg.private;
        s.commands = (msg.commands || []).map((c) => (c.id && this._sent.has(c.id) ? { ...this._sent.get(c.id), ...c } : c));
        s.events = msg.events || [];
        s.lobby = msg.lobby || []; s.roster = fullRoster(msg.roster);
        s.players = (msg.game && msg.game.players) || s.lobby.length;
        s.nextRound = msg.next_round || null;
        if (msg.rank !== undefined) { s.rank = msg.rank; s.rankOf = msg.rank_of; }
        if (s.game) this._trimHistory(s.game.tick);
        this._emit("snapshot");
        // The charts' past up to the snapshot's tick: fetched, then merged by tick.
        if (s.game) this.loadHistory(msg.history_url, s.game.tick);
        break;
      case "lobby":
        s.lobby = msg.lobby || []; s.players = msg.players ?? s.lobby.length;
        if (s.game) s.game.players = s.players;  // as a snapshot's game would say
        // The instructor may change this seat's role in the lobby (nicknames are unique).
        if (s.you && s.you.nickname) {
          const mine = s.lobby.find((p) => p.nickname === s.you.nickname);
          if (mine && mine.role) s.you.role = mine.role;
        }
        this._emit("lobby");
        break;
      case "status":
        s.game = msg.game;
        this._emit("status", { reason: msg.reason });
        break;
      case "tick":
        s.game = msg.game; s.market = msg.market; s.leaderboard = msg.leaderboard;
        if (msg.row) this._mergeHistory([msg.row]);
        if (msg.epoch_row) this._mergeEpochs([msg.epoch_row]);
        if (msg.events && msg.events.length) {
          s.news = msg.events[msg.events.length - 1];
          // Reflect fired events in the instructor's list without waiting for a snapshot.
          for (const ev of msg.events) {
            const known = s.events.find((e) => e.index === ev.index);
            if (known) known.status = "fired";
          }
        }
        this._emit("tick", { events: msg.events || [] });
        break;
      case "private": {
        s.private = msg.you;
        if (s.you) {
          s.you.active = true;   // a private view means the seat is in the game
          if (msg.you && msg.you.role) s.you.role = msg.you.role;
        }
        if (msg.rank !== undefined) { s.rank = msg.rank; s.rankOf = msg.rank_of; }
        const fills = msg.fills || [];
        s.lastFills = fills;
        for (const f of fills) this._upsertCommand(f);
        this._emit("private", { fills, whileAway: msg.while_away || null });
        break;
      }
      case "next_round":
        // Where the class went (a practice round, the real game, the next round): the page
        // follows it (static/js/rounds.js).
        s.nextRound = msg.next_round || null;
        this._emit("next_round");
        break;
      case "roster":
        s.roster = fullRoster(msg.roster);
        this._emit("roster");
        break;
      case "presence": {
        const r = (s.roster || []).find((x) => x.seat_id === msg.seat_id);
        if (r) {
          // The seat's connection, its status by the server's one rule, whether a bot holds it.
          r.connected = msg.connected;
          if (msg.status !== undefined) r.status = msg.status;
          if (msg.stand_in !== undefined) r.stand_in = msg.stand_in;
          this._emit("roster");
        }
        break;
      }
      case "accepted":
        // As the snapshot lists a queued command: not settled yet, sent by the player.
        this._upsertCommand({ id: msg.id, command: msg.command, due_tick: msg.due_tick, status: "queued", tick: null, reason: null, fill: null, actor: "human", ...(this._sent.get(msg.id) || {}) });
        this._emit("commands");
        break;
      case "cancelled": {
        const c = s.commands.find((x) => x.id === msg.command);
        if (c) { c.status = "cancelled"; c.reason = "cancelled"; }
        this._emit("commands");
        break;
      }
      default:
        break;
    }
  }

  /** Remember what a command was, so the queued list can describe it before the server does. */
  noteSent(cmd) {
    this._sent.set(cmd.id, { do: cmd.do, subnet: cmd.subnet, tao: cmd.tao, alpha: cmd.alpha, from: cmd.from, to: cmd.to, limit_price: cmd.limit_price, mechanism: cmd.mechanism, name: cmd.name });
    this._save("sent", [...this._sent.entries()].slice(-60));
  }

  _upsertCommand(c) {
    const list = this.s.commands;
    if (c.id && this._sent.has(c.id)) c = { ...this._sent.get(c.id), ...c };
    const i = c.id ? list.findIndex((x) => x.id === c.id) : -1;
    if (i >= 0) list[i] = { ...list[i], ...c };
    else list.push(c);
    if (list.length > 50) list.splice(0, list.length - 50);
  }

  queued() {
    return this.s.commands.filter((c) => c.status === "queued");
  }

  /** Fetch the ticks before `next` this tab does not have from the server yet (all of them
   *  after a reload), in blocks of HISTORY_BLOCK, and merge them. Returns when done. */
  async loadHistory(url, next) {
    const h = this._hist;
    if (!url || !(next > 0)) return;
    if (h.url !== url) { h.url = url; h.upTo = -1; }
    const first = Math.max(h.upTo + 1, next - HISTORY_MAX, 0);
    if (first > next - 1) return;
    const gen = ++h.gen;
    const blocks = [];
    for (let a = Math.floor(first / HISTORY_BLOCK) * HISTORY_BLOCK; a < next; a += HISTORY_BLOCK) {
      blocks.push([Math.max(a, first), Math.min(a + HISTORY_BLOCK - 1, next - 1)]);
    }
    this.s.historyLoading = true; this.s.historyError = false;
    const results = await Promise.all(blocks.map(([a, b]) => this._fetchBlock(url, a, b)));
    if (h.url !== url) return;                 // another game under this code meanwhile
    for (const body of results) if (body) this._mergeColumns(body);
    const ok = results.every((r) => r);
    if (ok && first <= h.upTo + 1) h.upTo = Math.max(h.upTo, next - 1);
    if (gen === h.gen) { this.s.historyLoading = false; this.s.historyError = !ok; }
    this._save("history", this.s.history); this._save("epochs", this.s.epochs);
    this._emit("history", { ok });
  }

  async _fetchBlock(url, a, b) {
    const headers = { Accept: "application/json" };
    if (this.projectorToken) headers["X-Projector-Token"] = this.projectorToken;
    const sep = url.includes("?") ? "&" : "?";
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fetch(`${url}${sep}from=${a}&to=${b}`, { credentials: "same-origin", headers });
        if (r.ok) return await r.json();
        if (r.status < 500 && r.status !== 429) return null;   // refused: asking again will not help
      } catch (e) { /* offline or the server restarting: try again */ }
      if (attempt >= HISTORY_RETRY_MS.length) return null;
      await new Promise((done) => setTimeout(done, HISTORY_RETRY_MS[attempt]));
    }
  }

  /** The server's rows for ticks from..to replace whatever this tab had for them. */
  _mergeColumns(body) {
    const { rows, epochs } = rowsFromColumns(body);
    const inRange = (t) => typeof t === "number" && t >= body.from && t <= body.to;
    this.s.history = this.s.history.filter((r) => !inRange(r.tick));
    this.s.epochs = this.s.epochs.filter((r) => !inRange(r.tick));
    this._mergeHistory(rows, false);
    this._mergeEpochs(epochs, false);
  }

  _mergeHistory(rows, save = true) {
    const h = this.s.history;
    for (let r of rows) {
      if (!r || typeof r.tick !== "number") continue;
      // Keep only what the charts and the change column use: stored every tick, it must stay small.
      r = { tick: r.tick, epoch: r.epoch, subnets: (r.subnets || []).map((x) => ({ id: x.id, price: x.price, moving_price: x.moving_price, share: x.share, root_prop: x.root_prop })) };
      if (h.length && h[h.length - 1].tick >= r.tick) {
        const j = h.findIndex((x) => x.tick === r.tick);
        if (j >= 0) { h[j] = r; continue; }
        h.push(r); h.sort((a, b) => a.tick - b.tick); continue;
      }
      h.push(r);
    }
    if (h.length > HISTORY_MAX) h.splice(0, h.length - HISTORY_MAX);
    if (save) this._save("history", this.s.history);
  }

  _mergeEpochs(rows, save = true) {
    const byEpoch = new Map(this.s.epochs.map((r) => [r.epoch, r]));
    for (const r of rows) if (r && typeof r.epoch === "number") byEpoch.set(r.epoch, { epoch: r.epoch, tick: r.tick, network_health: r.network_health });
    this.s.epochs = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch).slice(-1000);
    if (save) this._save("epochs", this.s.epochs);
  }

  _trimHistory(nextTick) {
    // A restarted game (or another game under the same code) must not show stale rows.
    this.s.history = this.s.history.filter((r) => r.tick < nextTick);
    this.s.epochs = this.s.epochs.filter((r) => typeof r.tick !== "number" || r.tick < nextTick);
  }

  _load(what) {
    try { return JSON.parse(sessionStorage.getItem(what + ":" + this.code) || "[]"); } catch (e) { return []; }
  }
  _save(what, rows) {
    try { sessionStorage.setItem(what + ":" + this.code, JSON.stringify(rows.slice(-600))); } catch (e) { /* full */ }
  }

  _emit(type, detail = {}) { this.dispatchEvent(new CustomEvent(type, { detail })); this.dispatchEvent(new CustomEvent("change", { detail: { type, ...detail } })); }
}
