// The instructor console for one game: controls, roster (presence, roles, kick), scripted
// events, leaderboard and the projector's charts.

import { GameSocket, newClientId } from "./socket.js";
import { Store } from "./store.js";
import { CLOSE_TEXT, ROLE_TEXT, reasonText } from "./protocol.js";
import { el, $, $all, replace, bootstrap, fmt, pct, toast, bindConnectionPill, once, parseAmount, subnetLabel, labelMentions } from "./ui.js";
import { startClock, NewsBanner, secondsToTick, bindDeleteConfirm } from "./common.js";
import { ChartSet } from "./chartset.js";
import { updateCtx, newCtx, subnetNameOf } from "./views.js";
import { buildValidatorPanel } from "./validator.js";
import { mountConsoleClassroom } from "./classroom_console.js";

const boot = bootstrap();
const store = new Store(boot.code);
const sock = new GameSocket(boot.ws_url);
const S = () => store.state;
let charts = null;

const OP_TEXT = {
  start: "Game started", pause: "Paused", resume: "Resumed", end: "Game ended", advance: "Advanced",
  lock: "Joining locked", unlock: "Joining unlocked", kick: "Player removed", set_role: "Role changed",
  auto_roles: "Roles dealt", event: "Event updated", tick_seconds: "Tick length changed", foundation: "Foundation seat updated",
  announce: "Shown on every screen", announce_clear: "Announcement cleared", eyes_up: "Eyes up updated",
  ask: "Question asked", close_question: "Answers closed", reveal: "Answers revealed",
};

function control(op, fields, button) {
  const run = async () => {
    try {
      // Not resent after a reconnect: controls are not idempotent by id on the server.
      const r = await sock.request({ type: "control", id: "k-" + newClientId().slice(0, 24), op, ...fields });
      toast(OP_TEXT[op] || "Done", "ok", 3000, button);
      return r;
    } catch (err) {
      toast(`${op}: ${err.message || reasonText(err.code)}`, "error", 7000, button);
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
    if (!(v >= 1 && v <= 600)) { toast("Tick length must be between 1 and 600 seconds.", "error", 5000, ev.submitter); return; }
    control("tick_seconds", { seconds: v }, ev.submitter);
  });
  $("#foundation-on").addEventListener("change", (ev) => {
    // The socket's identity changes with the seat: a fresh snapshot carries the new `you`.
    control("foundation", { on: ev.target.checked }).then((r) => {
      if (!r) ev.target.checked = !ev.target.checked; else sock.requestSnapshot();
    });
  });
}

const STATUS_TEXT = { lobby: "Lobby", running: "Running", paused: "Paused ⏸", ended: "Ended" };

/** One sentence on what the game is doing, for the controls card. */
function stateText(st) {
  const g = st.game || {};
  switch (g.status) {
    case "lobby": return "Lobby: students are joining. Deal the roles, then start the game.";
    case "running": {
      if (!st.market || g.tick === 0) {
        const left = secondsToTick(g);
        return `Starting… first prices in ${left ?? "a few"} s.`;
      }
      return `Running: tick ${g.tick} of ${g.total_ticks}.`;
    }
    case "paused": return "Paused: no tick settles until you resume (Advance settles one now). Students' orders wait.";
    case "ended": return g.started ? "Game over. Open the debrief to discuss it with the class, or export the data."
      : "This game ended before it started: there is nothing to debrief. Delete it, or create a new game.";
    default: return "";
  }
}

/** Which controls each state offers (docs/pages.md, "The console"). */
const CONTROLS = {
  lobby: ["#ctl-start", "#ctl-lock", "#ctl-unlock", "#ctl-auto", "#tick-form", "#foundation-label", "#delete-form"],
  running: ["#ctl-pause", "#ctl-tick", "#ctl-epoch", "#ctl-lock", "#ctl-unlock", "#tick-form", "#ctl-end"],
  paused: ["#ctl-resume", "#ctl-tick", "#ctl-epoch", "#ctl-lock", "#ctl-unlock", "#tick-form", "#ctl-end"],
  ended: ["#ctl-after", "#debrief-link", "#export-link", "#delete-form"],
};
const ALL_CONTROLS = [...new Set(Object.values(CONTROLS).flat())];

function renderControls() {
  const st = S();
  const g = st.game || {};
  const status = g.status;
  const on = new Set(CONTROLS[status] || []);
  if (status === "ended" && !g.started) { on.delete("#ctl-after"); on.delete("#debrief-link"); on.delete("#export-link"); }
  if (g.locked) on.delete("#ctl-lock"); else on.delete("#ctl-unlock");
  for (const sel of ALL_CONTROLS) $(sel).hidden = !on.has(sel);
  $("#delete-form").dataset.status = status || "";
  $("#ctl-state").textContent = stateText(st);
  if (document.activeElement !== $("#tick-seconds") && g.tick_seconds) $("#tick-seconds").value = String(g.tick_seconds);
  $("#game-status").textContent = STATUS_TEXT[status] || "…";
  $("#locked").hidden = !g.locked || status === "ended";
  $("#players-count").textContent = `${S().players || 0} players`;
  if (g.name) $("#game-name").textContent = g.name;
  const you = S().you || {};
  $("#foundation-on").checked = !!you.seat_id;
  $("#join-box").hidden = status === "ended";
  $("#join-closed").hidden = status !== "ended";
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

/** What the console says about a seat: the server's `status` (readmodel.seat_status), in words. */
const SEAT_TEXT = {
  removed: "removed", bot: "bot", foundation: "Foundation (you)", lobby: "in lobby",
  joining: "joining at the next tick", playing: "playing", reconnecting: "connection lost: reconnecting…",
  away: "away", stand_in: "away: bot stands in", here: "here", left: "left",
};

/** " · SN28 · TAO Accumulation Corp" after an owner's role (nothing for other roles). */
function ownedLabel(r) {
  if (r.subnet === null || r.subnet === undefined) return "";
  return " · " + subnetLabel(r.subnet, subnetNameOf(S().market)(r.subnet));
}

/** One student, one seat: a flag on a seat whose device tried to open other seats. */
function deviceFlag(r) {
  const n = r.other_seat_attempts || 0;
  if (!n) return "";
  const text = `⚑ same device tried ${n} other seat${n === 1 ? "" : "s"}`;
  return el("span", { class: "pill warn device-flag", "data-attempts": String(n),
    title: "This seat's phone or browser tried to join again under another name; it was given this seat back." }, text);
}

function renderRoster() {
  const st = S();
  const g = st.game || {};
  const roster = st.roster || [];
  const lobby = g.status === "lobby";
  const canKick = lobby || g.status === "running" || g.status === "paused";
  const bots = roster.filter((r) => r.bot);
  $("#bots-box").hidden = bots.length === 0;
  $("#bots-count").textContent = String(bots.length);
  replace($("#bot-roster tbody"), ...bots.map((r) => el("tr", {},
    el("th", { scope: "row", class: "name" }, el("span", { class: "nick" }, r.nickname)),
    el("td", {}, ROLE_TEXT[r.role] || r.role || "–", ownedLabel(r)),
    el("td", {}, r.bot))));
  $("#ctl-auto").closest(".btn-row").hidden = !lobby;
  const rows = roster.filter((r) => !r.bot && (!r.kicked || lobby)).map((r) => {
    const presence = r.kind === "foundation" ? el("span", { class: "pill" }, "you") :
      el("span", {}, el("span", { class: "dot " + (r.connected ? "on" : "off"), "aria-hidden": "true" }), el("span", { class: "sr-only" }, r.connected ? "connected" : "away"));
    const flag = deviceFlag(r);
    const nick = el("th", { scope: "row", class: "name" }, presence, " ", el("span", { class: "nick" }, r.nickname), flag ? " " : "", flag);
    let roleCell;
    if (lobby && !r.bot && r.kind !== "foundation") {
      const sel = el("select", { "aria-label": "Role of " + r.nickname, "data-seat": r.seat_id },
        ...Object.entries(ROLE_TEXT).map(([v, t]) => el("option", { value: v, selected: v === r.role }, t)));
      sel.addEventListener("change", () => control("set_role", { seat_id: r.seat_id, role: sel.value }));
      roleCell = el("td", {}, sel, r.role_by_hand ? el("span", { class: "muted" }, " (by hand)") : "");
    } else {
      roleCell = el("td", {}, ROLE_TEXT[r.role] || r.role || "–", ownedLabel(r));
    }
    const state = el("td", { class: "seat-status", "data-status": r.status || "" }, SEAT_TEXT[r.status] || r.status || "–");
    const actions = el("td");
    if (canKick && !r.kicked && r.kind !== "foundation") {
      const kick = el("button", { type: "button", class: "btn small danger", "aria-label": "Kick " + r.nickname }, "Kick");
      kick.addEventListener("click", () => {
        if (confirm(`Remove ${r.nickname} from the game?`)) control("kick", { seat_id: r.seat_id }, kick);
      });
      actions.append(kick);
    }
    return el("tr", { "data-seat": r.seat_id }, nick, roleCell, state, actions);
  });
  // Keep a focused select usable: only redraw when nothing in the table has focus.
  const tbody = $("#roster tbody");
  if (tbody.contains(document.activeElement) && document.activeElement.tagName === "SELECT") return;
  redrawKeepingFocus(tbody, rows.length ? rows : [el("tr", {}, el("td", { colspan: "4", class: "muted" }, lobby
    ? "Nobody yet. Show the projector so students can scan the code." : "No students in this game."))]);
}

// --- scripted events ----------------------------------------------------------------------------

const eventOps = new Map(); // event index -> {action, due}: asked for, not yet settled
// The teacher's own notes per event (a custom preset's guide, game/web/guides.own_guide).
const eventNotes = JSON.parse(($("#event-notes") || {}).textContent || "{}") || {};

function renderEvents() {
  const st = S();
  const g = st.game || {};
  const live = g.status === "running" || g.status === "paused";
  const rows = (st.events || []).map((e) => {
    const acts = el("td");
    if (live && (e.status === "pending" || e.status === "held")) {
      for (const [action, text] of [["fire", "Fire now"], ["hold", "Hold"], ["skip", "Skip"]]) {
        if (action === "hold" && e.status === "held") continue;
        const b = el("button", { type: "button", class: "btn small" + (action === "fire" ? " primary" : ""), "aria-label": `${text}: ${labelMentions(e.title, subnetNameOf(S().market))}` }, text);
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
      el("td", { class: "name" }, el("strong", {}, labelMentions(e.title || "", subnetNameOf(S().market))),
        e.text ? el("div", { class: "muted" }, labelMentions(e.text, subnetNameOf(S().market))) : "",
        eventNotes[e.index] ? el("div", { class: "event-note" }, el("strong", {}, "Your note: "), eventNotes[e.index]) : ""),
      el("td", {}, status), acts);
  });
  redrawKeepingFocus($("#events tbody"), (rows.length ? rows : [el("tr", {}, el("td", { colspan: "4", class: "muted" }, "This scenario has no scripted events."))]));
}

// --- leaderboard and charts ---------------------------------------------------------------------

function renderBoard() {
  const st = S();
  $("#charts-card").hidden = !st.market;
  $("#board-card").hidden = !st.market;
  $("#lb-h").textContent = (st.game || {}).status === "ended" ? "Final: students by return on what they brought in" : "Students by return on what they brought in";
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
      toast(`${okText || "Order placed"} (settles at tick ${r.due_tick})`, "ok", 5000, button);
      return true;
    } catch (err) {
      toast("Refused: " + (reasonText(err.code) || err.message), "error", 7000, button);
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

const news = new NewsBanner(undefined, (id) => subnetNameOf(S().market)(id));
const renderClassroom = mountConsoleClassroom({ store, control, talk: $("#talk-card"), questions: $("#questions-card"), monitor: $("#participation-card") });

function render() {
  drawClock();
  news.update(S().game);
  renderFoundation();
  renderControls();
  renderRoster();
  renderEvents();
  renderBoard();
  renderClassroom();
}

bindConnectionPill($("#conn"), sock);
bindControls();
const drawClock = startClock($("#clock"), () => S().game);
bindDeleteConfirm($("#delete-form"));
// Read-only handle for debugging in the browser console (and the browser tests).
window.dtao = { sock, store };
// The controls card's "Starting… first prices in N s" counts down between renders.
setInterval(() => { if ((S().game || {}).status === "running" && !S().market) $("#ctl-state").textContent = stateText(S()); }, 1000);
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
  for (const ev of e.detail.events) news.show(ev, S().game);
  // Once the tick an event op was due at has settled, a snapshot brings the event's status.
  const settled = (S().game || {}).tick;
  let stale = false;
  for (const [i, op] of eventOps) if (settled > op.due) { eventOps.delete(i); stale = true; }
  if (stale) sock.requestSnapshot();
});
sock.connect();
