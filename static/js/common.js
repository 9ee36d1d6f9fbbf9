// Pieces every page shares: the tick/epoch clock, the news banner, describing a command.

import { $, fmt, isNum } from "./ui.js";

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

export function showNews(ev, ids = { box: "#news", title: "#news-title", text: "#news-text" }) {
  if (!ev) return;
  const box = $(ids.box);
  if (!box) return;
  $(ids.title).textContent = ev.title || "News";
  $(ids.text).textContent = ev.text || "";
  box.hidden = false;
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
