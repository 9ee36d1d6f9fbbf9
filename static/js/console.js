// The instructor console for one game: controls, roster (presence, roles, kick), scripted
// events, leaderboard and the projector's charts.

import { GameSocket, newClientId } from "./socket.js";
import { Store } from "./store.js";
import { CLOSE_TEXT, ROLE_TEXT, reasonText } from "./protocol.js";
import { el, $, $all, replace, bootstrap, fmt, pct, toast, bindConnectionPill, once, parseAmount } from "./ui.js";
import { startClock, showNews } from "./common.js";
import { ChartSet } from "./chartset.js";
import { updateCtx, newCtx } from "./views.js";
import { buildValidatorPanel } from "./validator.js";

const boot = bootstrap();
const store = new Store(boot.code);
const sock = new GameSocket(boot.ws_url);
const S = () => store.state;
let charts = null;

const OP_TEXT = {
  start: "Game started", pause: "Paused", resume: "Resumed", end: "Game ended", advance: "Advanced",
  lock: "Joining locked", unlock: "Joining unlocked", kick: "Player removed", set_role: "Role changed",
  auto_roles: "Roles dealt", event: "Event updated", tick_seconds: "Tick length changed", foundation: "Foundation seat updated",
};

function control(op, fields, button) {
  const run = async () => {
    try {
      // Not resent after a reconnect: controls are not idempotent by id on the server.
      const r = await sock.request({ type: "control", id: "k-" + newClientId().slice(0, 24), op, ...fields });
      toast(OP_TEXT[op] || "Done", "ok", 3000);
      return r;
    } catch (err) {
      toast(`${op}: ${err.message || reasonText(err.code)}`, "error", 7000);
      return null;
    }
  };
  return button ? once(button, run) : run();
}

// --- controls -----------------------------------------------------------------------------------

function bindControls() {
  for (const b of $all("[data-op]")) {
    b.addEventListener("click", () => {
      const op = b.dataset.op;
      if (op === "end" && !confirm("End the game now? This cannot be undone.")) return;
      const fields = op === "advance" ? { unit: b.dataset.unit } : {};
      control(op, fields, b);
    });
  }
  $("#tick-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = parseAmount($("#tick-seconds").value);
    if (!(v >= 1 && v <= 600)) { toast("Tick length must be between 1 and 600 seconds.", "error"); return; }
    control("tick_seconds", { seconds: v }, ev.submitter);
  });
  $("#foundation-on").addEventListener("change", (ev) => {
    // The socket's identity changes with the seat: a fresh snapshot carries the new `you`.
    control("foundation", { on: ev.target.checked }).then((r) => {
      if (!r) ev.target.checked = !ev.target.checked; else sock.requestSnapshot();
    });
  });
}

function renderControls() {
  const g = S().game || {};
  const st = g.status;
  const show = (id, on) => { $(id).hidden = !on; };
  show("#ctl-start", st === "lobby");
  show("#ctl-pause", st === "running");
  show("#ctl-resume", st === "paused");
  show("#ctl-tick", st === "running" || st === "paused");
  show("#ctl-epoch", st === "running" || st === "paused");
  show("#ctl-lock", st !== "ended" && !g.locked);
  show("#ctl-unlock", st !== "ended" && !!g.locked);
  show("#ctl-end", st !== "ended");
  show("#ctl-auto", st === "lobby");
  $("#foundation-on").closest("label").hidden = st !== "lobby";
  $("#tick-form").hidden = st === "ended";
  if (document.activeElement !== $("#tick-seconds") && g.tick_seconds) $("#tick-seconds").value = String(g.tick_seconds);
  $("#game-status").textContent = { lobby: "Lobby", running: "Running", paused: "Paused ⏸", ended: "Ended" }[st] || "…";
  $("#locked").hidden = !g.locked;
  $("#players-count").textContent = `${S().players || 0} players`;
  if (g.name) $("#game-name").textContent = g.name;
  const you = S().you || {};
  $("#foundation-on").checked = !!you.seat_id;
  // The debrief and the export exist once the game is over.
  $("#debrief-link").hidden = st !== "ended";
  $("#export-link").hidden = st !== "ended";
}

// --- roster -------------------------------------------------------------------------------------

/** Replace a table body's rows; a keyboard user's focus goes back to the same control. */
function redrawKeepingFocus(tbody, rows) {
  const f = document.activeElement;
  let key = null;
  if (f && tbody.contains(f)) {
    const tr = f.closest("tr");
    key = { row: tr && (tr.dataset.seat || tr.dataset.event), label: f.getAttribute("aria-label") || f.textContent };
  }
  replace(tbody, ...rows);
  if (!key) return;
  for (const c of tbody.querySelectorAll("button, select")) {
    const tr = c.closest("tr");
    if (tr && (tr.dataset.seat || tr.dataset.event) === key.row && (c.getAttribute("aria-label") || c.textContent) === key.label) {
      c.focus();
      return;
    }
  }
}

function renderRoster() {
  const st = S();
  const g = st.game || {};
  const roster = st.roster || [];
  const lobby = g.status === "lobby";
  const bots = roster.filter((r) => r.bot);
  $("#bots-box").hidden = bots.length === 0;
  $("#bots-count").textContent = String(bots.length);
  replace($("#bot-roster tbody"), ...bots.map((r) => el("tr", {},
    el("th", { scope: "row", class: "name" }, el("span", { class: "nick" }, r.nickname)),
    el("td", {}, ROLE_TEXT[r.role] || r.role || "–", r.subnet !== null && r.subnet !== undefined ? ` · SN${r.subnet}` : ""),
    el("td", {}, r.bot))));
  const rows = roster.filter((r) => !r.bot && (!r.kicked || lobby)).map((r) => {
    const presence = r.bot ? el("span", { class: "pill" }, "bot") : r.kind === "foundation" ? el("span", { class: "pill" }, "you") :
      el("span", {}, el("span", { class: "dot " + (r.connected ? "on" : "off"), "aria-hidden": "true" }), el("span", { class: "sr-only" }, r.connected ? "connected" : "away"));
    const nick = el("th", { scope: "row", class: "name" }, presence, " ", el("span", { class: "nick" }, r.nickname));
    let roleCell;
    if (lobby && !r.bot && r.kind !== "foundation") {
      const sel = el("select", { "aria-label": "Role of " + r.nickname, "data-seat": r.seat_id },
        ...Object.entries(ROLE_TEXT).map(([v, t]) => el("option", { value: v, selected: v === r.role }, t)));
      sel.addEventListener("change", () => control("set_role", { seat_id: r.seat_id, role: sel.value }));
      roleCell = el("td", {}, sel, r.role_by_hand ? el("span", { class: "muted" }, " (by hand)") : "");
    } else {
      roleCell = el("td", {}, ROLE_TEXT[r.role] || r.role || "–", r.subnet !== null && r.subnet !== undefined ? ` · SN${r.subnet}` : "");
    }
    const state = r.kicked ? "removed" : r.bot ? `bot (${r.bot})` : r.kind === "foundation" ? "Foundation (you)" : r.active ? (r.connected ? "playing" : "away: bot stands in") : lobby ? "in lobby" : "joining";
    const actions = el("td");
    if (!r.kicked && !r.bot && r.kind !== "foundation") {
      const kick = el("button", { type: "button", class: "btn small danger", "aria-label": "Kick " + r.nickname }, "Kick");
      kick.addEventListener("click", () => {
        if (confirm(`Remove ${r.nickname} from the game?`)) control("kick", { seat_id: r.seat_id }, kick);
      });
      actions.append(kick);
    }
    return el("tr", { "data-seat": r.seat_id }, nick, roleCell, el("td", {}, state), actions);
  });
  // Keep a focused select usable: only redraw when nothing in the table has focus.
  const tbody = $("#roster tbody");
  if (tbody.contains(document.activeElement) && document.activeElement.tagName === "SELECT") return;
  redrawKeepingFocus(tbody, rows.length ? rows : [el("tr", {}, el("td", { colspan: "4", class: "muted" }, "Nobody yet. Show the projector so students can scan the code."))]);
}

// --- scripted events ----------------------------------------------------------------------------

const eventOps = new Map(); // event index -> {action, due}: asked for, not yet settled

function renderEvents() {
  const st = S();
  const g = st.game || {};
  const live = g.status === "running" || g.status === "paused";
  const rows = (st.events || []).map((e) => {
    const acts = el("td");
    if (live && (e.status === "pending" || e.status === "held")) {
      for (const [action, text] of [["fire", "Fire now"], ["hold", "Hold"], ["skip", "Skip"]]) {
        if (action === "hold" && e.status === "held") continue;
        const b = el("button", { type: "button", class: "btn small" + (action === "fire" ? " primary" : ""), "aria-label": `${text}: ${e.title}` }, text);
        b.addEventListener("click", () => control("event", { event: e.index, action }, b).then((r) => {
          // The op is a command settled at the next tick; its new status shows up after that.
          if (r) { eventOps.set(e.index, { action, due: (r.result && r.result.due_tick) ?? (S().game || {}).tick }); renderEvents(); }
        }));
        acts.append(b, " ");
      }
    }
    const op = eventOps.get(e.index);
    const status = op ? `${e.status} → ${op.action} at tick ${op.due}` : e.status || "";
    return el("tr", { "data-event": e.index },
      el("td", { class: "num" }, String(e.epoch ?? "–")),
      el("td", { class: "name" }, el("strong", {}, e.title || ""), e.text ? el("div", { class: "muted" }, e.text) : ""),
      el("td", {}, status), acts);
  });
  redrawKeepingFocus($("#events tbody"), (rows.length ? rows : [el("tr", {}, el("td", { colspan: "4", class: "muted" }, "This scenario has no scripted events."))]));
}

// --- leaderboard and charts ---------------------------------------------------------------------

function renderBoard() {
  const st = S();
  $("#charts-card").hidden = !st.market;
  $("#board-card").hidden = !st.market;
  replace($("#leaderboard"), ...(st.leaderboard || []).map((r) => el("li", {}, el("span", { class: "nick" }, r.nickname), ` · ${ROLE_TEXT[r.role] || r.role} · `, el("span", { class: "num" }, fmt(r.net_worth) + " τ"), typeof r.return === "number" ? ` (${r.return >= 0 ? "+" : "−"}${Math.abs(r.return * 100).toFixed(1)}%)` : "")));
  const h = st.epochs.length ? st.epochs[st.epochs.length - 1].network_health : undefined;
  $("#health").textContent = typeof h === "number" ? pct(h, 1) + " of emission pays for AI work" : "–";
  if (st.market) {
    if (!charts) charts = new ChartSet({ price: $("#ch-price"), share: $("#ch-share"), rho: $("#ch-rho"), health: $("#ch-health") }, { legend: $("#legend") });
    charts.update(st);
  }
}

// --- the Foundation seat (the instructor's root validator) ---------------------------------------

const ctx = newCtx();
let foundation = null;

function sendCommand(cmd, button, okText) {
  return once(button, async () => {
    try {
      const r = await sock.command({ type: "command", id: "c-" + newClientId().slice(0, 24), ...cmd });
      toast(`${okText || "Order placed"} (settles at tick ${r.due_tick})`, "ok");
      return true;
    } catch (err) {
      toast("Refused: " + (reasonText(err.code) || err.message), "error", 7000);
      return false;
    }
  });
}

function renderFoundation() {
  const st = S();
  const g = st.game || {};
  const on = !!(st.you && st.you.seat_id) && !!st.market && (g.status === "running" || g.status === "paused");
  $("#foundation").hidden = !on;
  if (!on) return;
  updateCtx(ctx, st);
  if (!foundation) foundation = buildValidatorPanel({ ctx, host: $("#foundation-panel"), sendCommand });
  foundation.render();
}

function render() {
  drawClock();
  renderFoundation();
  renderControls();
  renderRoster();
  renderEvents();
  renderBoard();
}

bindConnectionPill($("#conn"), sock);
bindControls();
const drawClock = startClock($("#clock"), () => S().game);
sock.addEventListener("snapshot", (e) => store.apply(e.detail));
sock.addEventListener("message", (e) => store.apply(e.detail));
sock.addEventListener("fatal", (e) => {
  const box = $("#fatal");
  box.hidden = false;
  // 4001 here means the instructor's session is gone (logged out, expired).
  replace(box, e.detail.code === 4001 ? "Your login has expired. " : (CLOSE_TEXT[e.detail.code] || "The connection was closed.") + " ",
    el("a", { href: "/login/?next=" + encodeURIComponent(location.pathname) }, "Log in again"));
});
store.addEventListener("change", render);
store.addEventListener("tick", (e) => {
  for (const ev of e.detail.events) showNews(ev);
  // Once the tick an event op was due at has settled, a snapshot brings the event's status.
  const settled = (S().game || {}).tick;
  let stale = false;
  for (const [i, op] of eventOps) if (settled > op.due) { eventOps.delete(i); stale = true; }
  if (stale) sock.requestSnapshot();
});
sock.connect();
