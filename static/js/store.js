// Client state for one game, built from protocol v1 messages (docs/protocol.md). A snapshot
// replaces everything, chart history included (`history`, `epoch_rows`); tick messages then
// extend it. The history is also kept in sessionStorage, for a server that sends none.

const HISTORY_MAX = 2000;

export class Store extends EventTarget {
  constructor(code) {
    super();
    this.code = code;
    // What each command this tab sent was (the server's snapshot lists a queued command by id
    // and `do` only), kept across reloads so a queued order can still be described.
    this._sent = new Map(this._load("sent"));
    this.s = {
      game: null, you: null, market: null, leaderboard: null, private: null, rank: null,
      commands: [], events: [], lobby: [], roster: null, players: 0,
      history: this._load("history"), epochs: this._load("epochs"), news: null, lastFills: [],
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
        s.lobby = msg.lobby || []; s.roster = msg.roster;
        s.players = (msg.game && msg.game.players) || s.lobby.length;
        if (msg.rank !== undefined) { s.rank = msg.rank; s.rankOf = msg.rank_of; }
        // The server's chart history is the whole past: it replaces what this tab kept.
        if (Array.isArray(msg.history)) { s.history = []; this._mergeHistory(msg.history); }
        if (Array.isArray(msg.epoch_rows)) { s.epochs = []; this._mergeEpochs(msg.epoch_rows); }
        if (s.game) this._trimHistory(s.game.tick);
        this._emit("snapshot");
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
        this._emit("private", { fills });
        break;
      }
      case "roster":
        s.roster = msg.roster;
        this._emit("roster");
        break;
      case "presence": {
        const r = (s.roster || []).find((x) => x.seat_id === msg.seat_id);
        if (r) {
          r.connected = msg.connected;
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

  _mergeHistory(rows) {
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
    this._save("history", this.s.history);
  }

  _mergeEpochs(rows) {
    const byEpoch = new Map(this.s.epochs.map((r) => [r.epoch, r]));
    for (const r of rows) if (r && typeof r.epoch === "number") byEpoch.set(r.epoch, { epoch: r.epoch, tick: r.tick, network_health: r.network_health });
    this.s.epochs = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch).slice(-1000);
    this._save("epochs", this.s.epochs);
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
