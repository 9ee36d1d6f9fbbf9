// Pieces every page shares: the tick/epoch clock, the news banner, describing a command.

import { $, fmt, isNum, labelMentions } from "./ui.js";

export function clockText(g) {
  if (!g) return "";
  const total = g.total_ticks;
  const tick = Math.min(g.tick, total ?? g.tick);
  const tpe = g.ticks_per_epoch || 1;
  const totalEpochs = isNum(total) ? Math.ceil(total / tpe) : undefined;
  let s = `Epoch ${g.epoch}${isNum(totalEpochs) ? "/" + totalEpochs : ""} · tick ${tick}`;
  if (g.status === "running" && isNum(g.next_tick_at)) {
    const left = Math.max(0, Math.ceil(g.next_tick_at - Date.now() / 1000));
    s += ` · next tick in ${left} s`;
  } else if (g.status === "paused") {
    s += " · paused";
  } else if (g.status === "ended") {
    s += " · game over";
  }
  return s;
}

/** Refresh the clock text every second (the countdown) and whenever getGame changes. */
export function startClock(node, getGame) {
  const draw = () => { node.textContent = clockText(getGame()); };
  draw();
  setInterval(draw, 1000);
  return draw;
}

export function showNews(ev, ids = { box: "#news", title: "#news-title", text: "#news-text" }, nameOf = null) {
  if (!ev) return;
  const box = $(ids.box);
  if (!box) return;
  $(ids.title).textContent = labelMentions(ev.title || "News", nameOf);
  $(ids.text).textContent = labelMentions(ev.text || "", nameOf);
  box.hidden = false;
}

/**
 * A scripted event's banner: it lasts the epoch the event fired in (until the clock shows a
 * later epoch, and at least until the next tick), or until the next event replaces it; it is
 * never shown once the game is over. `show(ev, game)` when an event fires (ev.tick: the tick
 * it fired at); `update(game)` on every change.
 */
export class NewsBanner {
  /** nameOf: id → a subnet's name, so "SN28" in an event reads "SN28 · its name". */
  constructor(ids = { box: "#news", title: "#news-title", text: "#news-text" }, nameOf = null) {
    this.ids = ids;
    this.nameOf = nameOf;
    this.ev = null;
    this.epoch = undefined;
    this.tick = undefined;
  }

  show(ev, game) {
    if (!ev) return;
    const tpe = (game && game.ticks_per_epoch) || 1;
    this.ev = ev;
    this.tick = isNum(ev.tick) ? ev.tick : game && isNum(game.tick) ? game.tick - 1 : undefined;
    this.epoch = isNum(this.tick) ? Math.floor(this.tick / tpe) : game && game.epoch;
    showNews(ev, this.ids, this.nameOf);
    const box = $(this.ids.box);
    if (box) box.dataset.epoch = String(this.epoch);
    this.update(game);
  }

  update(game) {
    const box = $(this.ids.box);
    if (!box || box.hidden) return;
    if (!game || game.status === "ended" || game.status === "lobby" || !this.ev) { this.hide(); return; }
    if (isNum(game.epoch) && isNum(this.epoch) && game.epoch > this.epoch && game.tick - 1 > this.tick) this.hide();
  }

  hide() {
    const box = $(this.ids.box);
    if (box) box.hidden = true;
    this.ev = null;
  }
}

/** Seconds until the game's next tick (0 when due), or undefined when no tick is scheduled. */
export function secondsToTick(g) {
  if (!g || g.status !== "running" || !isNum(g.next_tick_at)) return undefined;
  return Math.max(0, Math.ceil(g.next_tick_at - Date.now() / 1000));
}

const VERB = {
  stake: "Buy", unstake: "Sell", move: "Move", root_stake: "Stake on root", root_unstake: "Unstake from root",
  set_weights: "Set weights", set_mechanism: "Set mechanism", buyback: "Buyback", register_subnet: "Register subnet",
  join: "Join",
};
const MECH = { ai_work: "AI work", hold_to_earn: "hold-to-earn", owner_mined: "owner-mined" };

const amt = (x, unit, lead) => (isNum(x) ? `${lead}${fmt(x)} ${unit}` : "");

/** A short human description of a command or fill (all text: caller inserts as text). */
export function describeCommand(c, ctx) {
  const src = { ...(c.fill || {}), ...c };
  const name = (id) => {
    if (id === undefined || id === null) return "a subnet";
    const s = ctx && ctx.byId && ctx.byId.get(Number(id));
    return s ? s.name : "SN" + id;
  };
  const d = src.do;
  const v = VERB[d] || d || "order";
  switch (d) {
    case "stake": return `${v} on ${name(src.subnet)}` + amt(src.tao, "τ", " for ") + (isNum(src.limit_price) ? ` (limit ${fmt(src.limit_price)})` : "");
    case "unstake": return `${v}${amt(src.alpha, "α", " ")} of ${name(src.subnet)}` + (isNum(src.limit_price) ? ` (limit ${fmt(src.limit_price)})` : "");
    case "move": return `${v}${amt(src.alpha, "α", " ")} from ${name(src.from)} to ${name(src.to)}`;
    case "root_stake": case "root_unstake": {
      const val = src.validator && ctx && ctx.rootValidators ? ctx.rootValidators.find((x) => x.id === src.validator) : null;
      return `${v}` + amt(src.tao, "τ", ": ") + (src.validator ? ` with ${val ? val.nickname : src.validator}` : "");
    }
    case "buyback": return `${v} on ${name(src.subnet)}` + amt(src.tao, "τ", " for ");
    case "set_mechanism": return `${v} of ${name(src.subnet)} to ${MECH[src.mechanism] || src.mechanism}`;
    case "set_weights": return `${v} on ${name(src.subnet)}`;
    case "register_subnet": return `${v}${src.name ? " “" + src.name + "”" : ""}`;
    default: return v;
  }
}

const STATUS_WORD = { lobby: "in the lobby", running: "running", paused: "paused", ended: "over" };

/** Ask before a delete form posts: what goes, and that students playing now are cut off. */
export function bindDeleteConfirm(form) {
  form.addEventListener("submit", (ev) => {
    const { name, code, status } = form.dataset;
    const live = status === "running" || status === "paused";
    const text = `Delete “${name}” (${code}, ${STATUS_WORD[status] || status})?` +
      (live ? " The game is still on: it ends now for every student." : "") +
      " Its seats, orders, charts and reports are deleted. This cannot be undone.";
    if (!confirm(text)) ev.preventDefault();
  });
}
