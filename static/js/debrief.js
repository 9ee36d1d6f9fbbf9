// The instructor's debrief page: whole-game charts with event markers, the replay scrubber,
// emission capture, the boards with each player's P&L breakdown, and "your class vs N bot
// classes" computed in the background. Every value shown goes through textContent.

import { el, $, replace, fmt, pct, isNum, subnetLabel as labelOf, labelMentions } from "./ui.js";
import { markers, lineDataset, timeOptions, makeChart, asPct, subnetSeries, seriesStyle } from "./debrief_charts.js";

const doc = JSON.parse($("#debrief-data").textContent);
const boot = JSON.parse($("#debrief-boot").textContent);
const names = new Map(doc.subnets.map((s) => [s.id, s.name]));
const subnetLabel = (id) => labelOf(id, names.get(Number(id)));
const nameOf = (id) => names.get(id);
const cursor = { tick: null };
// Every time chart spans the whole game, so the same tick sits at the same place on each.
const X = { xMin: 0, xMax: Math.max(1, (doc.game.total_ticks || doc.ticks.length) - 1) };
const charts = [];
const ROLE = { speculator: "Speculators", subnet_owner: "Subnet owners", root_validator: "Root validators", external_miners: "External AI miners" };

function eventLegend() {
  const node = $("#event-legend");
  if (!doc.events.length) { node.textContent = "no events fired"; return; }
  node.textContent = doc.events.map((e, n) => `${n + 1}: ${labelMentions(e.title, nameOf)} (tick ${e.tick})`).join("; ");
}

function timeChart(canvas, key, opts) {
  const series = subnetSeries(doc.ticks, key);
  const datasets = [...series.entries()].map(([id, pts], i) =>
    lineDataset(subnetLabel(id), pts, i, opts.stacked ? { fill: i === 0 ? "origin" : "-1" } : {}));
  const c = makeChart(canvas, { type: "line", data: { datasets }, options: timeOptions({ ...X, ...opts }), plugins: [markers(doc.events, cursor)] });
  charts.push(c);
  return c;
}

function marketCharts() {
  timeChart($("#ch-price"), "price", { yLabel: "τ per α", logY: true });
  timeChart($("#ch-share"), "share", { stacked: true, yMax: 1, yFormat: asPct });
  timeChart($("#ch-rho"), "root_prop", { yMin: 0, yMax: 1, yFormat: asPct });
  const health = doc.epochs.map((e) => ({ x: e.tick, y: e.network_health }));
  charts.push(makeChart($("#ch-health"), {
    type: "line",
    data: { datasets: [lineDataset("Network health", health, 2, { pointRadius: 3 })] },
    options: timeOptions({ ...X, yMin: 0, yMax: 1, yFormat: asPct }),
    plugins: [markers(doc.events, cursor)],
  }));
}

function emissionCharts() {
  const bySubnet = doc.emission.by_subnet;
  const ids = Object.keys(bySubnet);
  const parts = [["workers", "External AI miners"], ["holders", "Holders (hold-to-earn)"], ["owner", "Owner's miners"], ["validators", "Validators (alpha)"], ["root_tao", "Root stakers (τ)"]];
  makeChart($("#ch-em-subnet"), {
    type: "bar",
    data: {
      labels: ids.map(subnetLabel),
      datasets: parts.map(([key, label], i) => ({ label, data: ids.map((id) => bySubnet[id][key]), backgroundColor: seriesStyle(i).color, stack: "s" })),
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } }, scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "τ" } } } },
  });
  const roles = Object.keys(doc.emission.by_role);
  makeChart($("#ch-em-role"), {
    type: "bar",
    data: { labels: roles.map((r) => ROLE[r] || r), datasets: [{ label: "TAO value received", data: roles.map((r) => doc.emission.by_role[r]), backgroundColor: roles.map((_, i) => seriesStyle(i).color) }] },
    options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } }, scales: { y: { title: { display: true, text: "τ" } } } },
  });
}

// --- the replay scrubber --------------------------------------------------------------------

function showFrame(t) {
  const row = doc.ticks[t];
  const frame = doc.frames[t];
  if (!row || !frame) return;
  $("#scrub-tick").textContent = `${row.tick} · epoch ${row.epoch}`;
  const b = frame.banner;
  $("#scrub-banner").hidden = !b;
  $("#scrub-banner-title").textContent = b ? labelMentions(b.title, nameOf) : "";
  $("#scrub-banner-text").textContent = b ? b.text : "";
  replace($("#scrub-market tbody"), ...row.subnets.map((s) => el("tr", {},
    el("td", {}, subnetLabel(s.id)), el("td", { class: "num" }, fmt(s.price)),
    el("td", { class: "num" }, pct(s.share)), el("td", { class: "num" }, pct(s.root_prop)))));
  replace($("#scrub-top"), ...frame.top.map((p) => el("li", {},
    el("span", { class: "nick" }, p.nickname), " ", el("span", { class: "num muted" }, fmt(p.net_worth) + " τ"))));
  replace($("#scrub-holders"), ...Object.entries(frame.holders).map(([id, hs]) => el("div", { class: "holders" },
    el("strong", {}, subnetLabel(id)),
    el("ol", {}, ...hs.map((h) => el("li", {}, el("span", { class: "nick" }, h.nickname), " ", el("span", { class: "num muted" }, fmt(h.alpha) + " α")))))));
  cursor.tick = row.tick;
  for (const c of charts) c.update("none");
}

function scrubber() {
  const input = $("#scrub");
  input.max = String(Math.max(0, doc.ticks.length - 1));
  input.value = input.max;
  input.addEventListener("input", () => showFrame(Number(input.value)));
  showFrame(Number(input.value));
}

// --- boards -----------------------------------------------------------------------------------

/** Students first, ranked by return on what each brought in (as the live board): a student's
 *  rank and its history are among the students (of the tab's role); bots and the instructor
 *  follow under their own heading, by net worth, unranked. */
const isStudent = (p) => p.actor === "human";
const ROLE_ONE = { speculator: "Speculator", subnet_owner: "Subnet owner", root_validator: "Root validator" };
const returnOf = (nw, brought) => (isNum(brought) && brought > 0 && isNum(nw) ? nw / brought - 1 : null);

function competitionRanks(list, score) {
  const out = new Map();
  const sorted = list.slice().sort((a, b) => score(b) - score(a) || (a.player < b.player ? -1 : 1));
  let last = null, rank = 0;
  sorted.forEach((p, i) => { const k = score(p).toFixed(9); if (k !== last) { last = k; rank = i + 1; } out.set(p.player, rank); });
  return [sorted, out];
}

function studentHistory(students) {
  // per epoch: each present student's rank by return among the students of the list
  const brought = new Map(students.map((p) => [p.player, p.contributed]));
  const hist = new Map(students.map((p) => [p.player, []]));
  for (const ep of doc.epochs) {
    const here = ep.players.filter((q) => brought.has(q.id)).map((q) => ({ player: q.id, r: returnOf(q.net_worth, brought.get(q.id)) }));
    const [, ranks] = competitionRanks(here, (q) => (q.r === null ? -Infinity : q.r));
    for (const [pid, series] of hist) series.push(ranks.has(pid) ? ranks.get(pid) : null);
  }
  return hist;
}

function boardRow(p, rank, history) {
  const b = p.breakdown;
  const cls = (x) => "num " + (x > 0 ? "good" : x < 0 ? "bad" : "");
  const r = returnOf(p.net_worth, p.contributed);
  return el("tr", { dataset: { player: p.player, kind: isStudent(p) ? "student" : "other" } },
    el("td", { class: "num" }, rank), el("td", { class: "nick" }, p.nickname, isStudent(p) ? null : el("span", { class: "muted" }, p.actor === "bot" ? " (bot)" : " (instructor)")),
    el("td", {}, ROLE_ONE[p.role] || p.role), el("td", { class: "num" }, fmt(p.net_worth)),
    el("td", { class: "num" }, r === null ? "–" : pct(r)),
    el("td", { class: cls(b.total) }, fmt(b.total)), el("td", { class: cls(b.price_moves) }, fmt(b.price_moves)),
    el("td", { class: cls(b.income) }, fmt(b.income)), el("td", { class: cls(b.fees_slippage) }, fmt(b.fees_slippage)),
    el("td", { class: cls(b.exit_slippage) }, fmt(b.exit_slippage)), el("td", { class: cls(b.registration) }, fmt(b.registration)),
    el("td", { class: "hist" }, history ? history.map((x) => (x === null ? "·" : x)).join(" → ") : "–"));
}

function boards() {
  const tabs = [["overall", "Overall"], ["speculator", ROLE.speculator], ["subnet_owner", ROLE.subnet_owner], ["root_validator", ROLE.root_validator]];
  let current = "overall";
  const draw = () => {
    const mine = doc.players.filter((p) => current === "overall" || p.role === current);
    const [students, ranks] = competitionRanks(mine.filter(isStudent), (p) => returnOf(p.net_worth, p.contributed) ?? -Infinity);
    const hist = studentHistory(students);
    const rest = mine.filter((p) => !isStudent(p)).sort((a, b) => b.net_worth - a.net_worth);
    const rows = students.map((p) => boardRow(p, ranks.get(p.player), hist.get(p.player)));
    if (rest.length) {
      rows.push(el("tr", { class: "group" }, el("th", { colspan: "12", scope: "rowgroup" }, "Bots and the instructor (not ranked with the students)")));
      rows.push(...rest.map((p) => boardRow(p, "–", null)));
    }
    replace($("#board tbody"), ...rows);
    for (const btn of $("#board-tabs").children) btn.setAttribute("aria-selected", String(btn.dataset.board === current));
  };
  replace($("#board-tabs"), ...tabs.map(([key, label]) => el("button", {
    type: "button", role: "tab", dataset: { board: key }, onclick: () => { current = key; draw(); },
  }, label)));
  draw();
}

// --- your class vs N bot classes ---------------------------------------------------------------

function csrf() {
  const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

function band(label, b, color, cls) {
  const pts = (k) => b[k].map((y, x) => ({ x, y }));
  const light = color + "33";
  const mid = color + "66";
  return [
    { label: `${label} 5%`, data: pts("p5"), borderWidth: 0, pointRadius: 0, fill: false, borderColor: light },
    { label: `${label} 5–95%`, data: pts("p95"), borderWidth: 0, pointRadius: 0, fill: "-1", backgroundColor: light, borderColor: light },
    { label: `${label} 25%`, data: pts("p25"), borderWidth: 0, pointRadius: 0, fill: false, borderColor: mid },
    { label: `${label} 25–75%`, data: pts("p75"), borderWidth: 0, pointRadius: 0, fill: "-1", backgroundColor: mid, borderColor: mid },
    { label: "Your class", data: cls.map((y, x) => ({ x, y })), borderColor: "#111418", borderWidth: 3, pointRadius: 3, fill: false },
  ];
}

// The bot-class charts run over epochs: mark each event at the epoch it fired in.
const epochEvents = doc.events.map((e) => ({ ...e, tick: e.epoch }));
let mcHealth = null;
let mcPrice = null;

function drawBands(res) {
  $("#mc-charts").hidden = false;
  const opts = (o) => {
    const base = timeOptions({ xLabel: "epoch", ...o });
    base.plugins.legend.labels.filter = (item) => !/ (5|25)%$/.test(item.text);
    return base;
  };
  if (mcHealth) mcHealth.destroy();
  mcHealth = makeChart($("#ch-mc-health"), { type: "line", data: { datasets: band("Bot classes", res.network_health, "#0072B2", res.class.network_health) }, options: opts({ yMin: 0, yMax: 1, yFormat: asPct }), plugins: [markers(epochEvents)] });
  const sel = $("#mc-subnet");
  if (!sel.options.length) {
    for (const id of Object.keys(res.subnets)) sel.appendChild(el("option", { value: id }, subnetLabel(id)));
    sel.addEventListener("change", () => drawPrice(res));
  }
  drawPrice(res);
}

function drawPrice(res) {
  const id = $("#mc-subnet").value;
  const cls = (res.class.subnets[id] || {}).price || [];
  if (mcPrice) mcPrice.destroy();
  const o = timeOptions({ xLabel: "epoch", yLabel: "τ per α" });
  o.plugins.legend.labels.filter = (item) => !/ (5|25)%$/.test(item.text);
  mcPrice = makeChart($("#ch-mc-price"), { type: "line", data: { datasets: band("Bot classes", res.subnets[id].price, "#E69F00", cls) }, options: o, plugins: [markers(epochEvents)] });
}

function showStatus(s) {
  $("#mc-bar").max = s.runs;
  $("#mc-bar").value = s.done || 0;
  const text = {
    missing: "Not computed yet.", running: `Running bot classes: ${s.done} of ${s.runs} done…`,
    queued: `Waiting for a free slot${s.position ? ` (number ${s.position} in the queue)` : ""}…`,
    busy: `Busy: ${s.error || "another run of this game is in progress"}`, queue_full: `Busy: ${s.error || "try again later"}`,
    done: `Done: ${s.runs} bot classes.`, failed: `Failed: ${s.error || "unknown error"}`,
    not_ended: "Available when the game is over.",
  }[s.state] || s.state;
  $("#mc-text").textContent = text;
  $("#mc-progress").dataset.state = s.state;
  $("#mc-start").hidden = !["missing", "failed", "busy", "queue_full"].includes(s.state) || !boot.ended;
}

async function poll(method = "GET") {
  const r = await fetch(boot.bands_url, { method, headers: method === "POST" ? { "X-CSRFToken": csrf() } : {}, credentials: "same-origin" });
  const s = await r.json();
  showStatus(s);
  if (s.state === "running" || s.state === "queued") setTimeout(() => poll(), 1000);
  else if (s.state === "done") drawBands(s);
  return s;
}

async function bots() {
  $("#mc-start").addEventListener("click", () => poll("POST"));
  if (!boot.ended) { showStatus({ state: "not_ended", done: 0, runs: boot.runs }); return; }
  const s = await poll();
  if (s.state === "missing") await poll("POST"); // computed in the background once the game is over
}

$("#print-btn").addEventListener("click", () => window.print());
// Projector mode: larger text everywhere, charts included, readable from the back of a room.
$("#big-btn").addEventListener("click", () => {
  const big = document.body.classList.toggle("big");
  document.documentElement.classList.toggle("big", big); // headings are sized in rem
  $("#big-btn").setAttribute("aria-pressed", String(big));
  window.Chart.defaults.font.size = big ? 20 : 12;
  for (const c of window.Chart.instances ? Object.values(window.Chart.instances) : charts) c.update("none");
});
$("#delete-form").addEventListener("submit", (e) => {
  if (!window.confirm("Delete this game and all its data? This cannot be undone.")) e.preventDefault();
});
eventLegend();
marketCharts();
emissionCharts();
scrubber();
boards();
bots();
