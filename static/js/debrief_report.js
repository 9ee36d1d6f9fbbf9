// A student's private report: rank, P&L breakdown, their trades marked on the price chart of
// the subnets they traded. Every value shown goes through textContent.

import { el, $, replace, fmt, subnetLabel } from "./ui.js";
import { reasonText } from "./protocol.js";
import { markers, lineDataset, timeOptions, makeChart, subnetSeries, seriesStyle } from "./debrief_charts.js";

const rep = JSON.parse($("#report-data").textContent);
const me = rep.me;
const names = new Map(rep.subnets.map((s) => [s.id, s.name]));
const label = (id) => subnetLabel(id, names.get(Number(id)));
const ROLE = { speculator: "speculators", subnet_owner: "subnet owners", root_validator: "root validators" };
const VERB = { stake: "Buy", unstake: "Sell", move: "Move", buyback: "Buyback", root_stake: "Stake on root", root_unstake: "Unstake from root", register_subnet: "Register subnet" };

$("#rep-rank").textContent = `#${me.rank} of ${rep.players} overall · #${me.role_rank} of ${rep.role_players} ${ROLE[me.role] || me.role}`;
$("#rep-worth").textContent = `Net worth ${fmt(me.net_worth)} τ at liquidation value; you brought ${fmt(me.hold_tao)} τ. Had you just held your TAO you would have ${fmt(me.hold_tao)} τ: you are ${me.vs_hold >= 0 ? "ahead by" : "behind by"} ${fmt(Math.abs(me.vs_hold))} τ.`;

const b = me.breakdown;
const lines = [
  ["Price moves (value change of what you held)", b.price_moves],
  ["Emission income (dividends, incentive, owner cut)", b.income],
  ["Fees and slippage on your trades", b.fees_slippage],
  ["Slippage if you sold everything now", b.exit_slippage],
  ["Subnet registration", b.registration],
  ["Total P&L", b.total],
];
replace($("#rep-pnl tbody"), ...lines.map(([label, v], i) => el("tr", { class: i === lines.length - 1 ? "total" : "" },
  el("th", { scope: "row" }, label), el("td", { class: "num " + (v > 0 ? "good" : v < 0 ? "bad" : "") }, (v > 0 ? "+" : "") + fmt(v) + " τ"))));

const shown = rep.traded.length ? rep.traded : rep.subnets.map((s) => s.id);
const series = subnetSeries(rep.ticks, "price");
const datasets = [];
shown.forEach((id, i) => {
  if (!series.has(id)) return;
  datasets.push(lineDataset(label(id), series.get(id), i));
});
const buys = [];
const sells = [];
for (const t of rep.trades) {
  if (t.status !== "filled" || t.price_before === null) continue;
  const id = t.subnet ?? t.from;
  if (id === null || id === undefined) continue;
  // A trade settles at the start of its tick, before that tick's row: draw it half a tick early.
  const pt = { x: t.tick - 0.5, y: t.price_before };
  (t.do === "unstake" || t.do === "move" ? sells : buys).push(pt);
}
datasets.push({ type: "scatter", label: "Your buys", data: buys, pointStyle: "triangle", pointRadius: 9, backgroundColor: seriesStyle(2).color, borderColor: "#111418" });
datasets.push({ type: "scatter", label: "Your sells", data: sells, pointStyle: "triangle", rotation: 180, pointRadius: 9, backgroundColor: seriesStyle(3).color, borderColor: "#111418" });
makeChart($("#ch-rep-price"), { type: "line", data: { datasets }, options: timeOptions({ yLabel: "τ per α", logY: true, xMin: -1, xMax: Math.max(1, (rep.game.total_ticks || rep.ticks.length) - 1) }), plugins: [markers(rep.events)] });

// Who placed it: the student, or (for a seat a bot held or played) not them.
const BY = { bot: " (by the stand-in, not you)", event: " (a scripted event)", scripted: " (scripted)" };
replace($("#rep-trades tbody"), ...rep.trades.map((t) => el("tr", {},
  el("td", { class: "num" }, t.tick), el("td", {}, (VERB[t.do] || t.do) + (BY[t.source] || "")),
  el("td", {}, t.do === "move" ? `${label(t.from)} → ${label(t.to)}` : (t.subnet === null || t.subnet === undefined ? "root" : label(t.subnet))),
  el("td", { class: "num" }, fmt(t.tao)), el("td", { class: "num" }, fmt(t.alpha)),
  el("td", { class: "num" }, fmt(t.price_before)),
  el("td", {}, t.status === "filled" ? "filled" : `refused: ${reasonText(t.reason)}`))));
