// Charts on the vendored Chart.js (window.Chart, loaded by a classic <script> before modules).
// Colour-blind-safe for up to 16 subnets: the Okabe–Ito palette, then Paul Tol's "muted" scheme,
// and every series also differs by its marker (shape, filled or hollow, turned) and its dash
// pattern, so nothing depends on telling two colours apart.
import { subnetLabel } from "./ui.js";

// [colour, dash, marker (a Chart.js point style), filled, rotation in degrees]
const STYLES = [
  ["#0072B2", [], "circle", true, 0], ["#E69F00", [10, 5], "triangle", true, 0],
  ["#009E73", [3, 4], "rect", true, 0], ["#D55E00", [14, 4, 3, 4], "rectRot", true, 0],
  ["#CC79A7", [6, 6], "star", false, 0], ["#56B4E9", [2, 2], "crossRot", false, 0],
  ["#000000", [18, 6], "cross", false, 0], ["#F0E442", [7, 3, 2, 3], "line", false, 0],
  ["#332288", [12, 3], "circle", false, 0], ["#88CCEE", [4, 8], "triangle", false, 0],
  ["#44AA99", [16, 4, 4, 4], "rect", false, 0], ["#117733", [8, 4, 2, 4, 2, 4], "rectRot", false, 0],
  ["#999933", [1, 5], "triangle", true, 180], ["#DDCC77", [20, 4], "triangle", false, 180],
  ["#CC6677", [10, 2, 2, 2], "rectRounded", true, 0], ["#882255", [5, 3], "line", false, 90],
];
export const PALETTE = STYLES.map((s) => s[0]);
export const MAX_SERIES = STYLES.length;

/** The i-th series' look: {color, dash, marker, filled, rotation}; distinct for i < 16. */
export function seriesStyle(i) {
  const [color, dash, marker, filled, rotation] = STYLES[i % STYLES.length];
  return { color, dash, marker, filled, rotation, fill: filled ? color : "#ffffff" };
}

/** Projector text scales with the screen: 22 px at 1920 wide, never below 13. */
export function largeFontSize() {
  return Math.max(13, Math.min(22, Math.round(window.innerWidth / 87)));
}

/** Log axis ticks at 1, 2, 3 and 5 × 10^k inside the data range: round, evenly readable labels. */
function niceLogTicks(scale) {
  const { min, max } = scale;
  if (!(min > 0) || !(max > min)) return;
  const out = [];
  for (let k = Math.floor(Math.log10(min)); k <= Math.ceil(Math.log10(max)); k++) {
    for (const m of [1, 2, 3, 5]) {
      const v = m * 10 ** k;
      if (v >= min * 0.999 && v <= max * 1.001) out.push({ value: v });
    }
  }
  if (out.length >= 2) scale.ticks = out;
}

/** Re-apply the projector's font size (the window may have been resized since). */
function fitFonts(chart) {
  const size = largeFontSize();
  const o = chart.options;
  for (const axis of [o.scales.x, o.scales.y]) {
    axis.ticks.font = { size };
    axis.title.font = { size };
  }
  o.plugins.legend.labels.font = { size };
  return size;
}

function baseOptions({ large, yLabel, yFormat, stacked, yMax, logY, legend = true }) {
  const font = { size: large ? largeFontSize() : 12 };
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    normalized: true,
    interaction: { mode: "nearest", intersect: false },
    plugins: {
      legend: {
        display: legend,
        position: "bottom",
        labels: { font, usePointStyle: true, boxWidth: large ? 40 : 24, padding: large ? 18 : 8 },
      },
      tooltip: { enabled: !large },
    },
    scales: {
      x: {
        title: { display: true, text: "tick", font },
        ticks: { font, maxTicksLimit: large ? 8 : 6 },
        grid: { color: "#e3e6ea" },
      },
      y: {
        type: logY ? "logarithmic" : "linear",
        afterBuildTicks: logY ? niceLogTicks : undefined,
        stacked: !!stacked,
        min: stacked ? 0 : undefined,
        max: yMax,
        title: { display: !!yLabel, text: yLabel || "", font },
        ticks: { font, callback: yFormat || undefined, maxTicksLimit: large ? 6 : 6 },
        grid: { color: "#e3e6ea" },
      },
    },
  };
}

/**
 * A line chart of one quantity per subnet over ticks.
 * pick(subnetRow) -> number; rows are tick rows ({tick, subnets: [{id, ...}]}).
 */
export class SubnetChart {
  constructor(canvas, { pick, yLabel, yFormat, stacked = false, large = false, yMax, yMin, logY = false, ariaLabel, legend = true, refLine = null }) {
    this.pick = pick;
    this.refLine = refLine;
    this.stacked = stacked;
    this.large = large;
    this.canvas = canvas;
    canvas.setAttribute("role", "img");
    if (ariaLabel) canvas.setAttribute("aria-label", ariaLabel);
    this.chart = new window.Chart(canvas, {
      type: "line",
      data: { labels: [], datasets: [] },
      options: baseOptions({ large, yLabel, yFormat, stacked, yMax, logY, legend }),
    });
    if (yMin !== undefined) this.chart.options.scales.y.min = yMin;
    this.sig = "";
  }

  /** rows: tick rows; names: {id: name}; order: subnet ids to show (most important first).
   *  A subnet keeps its colour, dash and marker for the whole game (styled by id rank). */
  update(rows, names, order) {
    const byId = order.slice().sort((a, b) => a - b);
    const ids = order.slice(0, MAX_SERIES).sort((a, b) => a - b);
    const rest = this.stacked ? order.slice(MAX_SERIES) : [];
    const labels = rows.map((r) => r.tick);
    const step = Math.max(1, Math.ceil(rows.length / 12));
    const fs = this.large ? fitFonts(this.chart) : 12;
    const lw = this.large ? Math.max(2, Math.round(fs / 5.5)) : 2;
    const pr = this.large ? Math.max(4, Math.round(fs / 2.75)) : 4;
    const datasets = ids.map((id, i) => {
      const st = seriesStyle(byId.indexOf(id));
      const data = rows.map((r) => {
        const s = (r.subnets || []).find((x) => x.id === id);
        const v = s ? this.pick(s) : null;
        return typeof v === "number" && Number.isFinite(v) ? v : null;
      });
      return {
        label: names[id] || "SN" + id,
        data,
        borderColor: st.color,
        backgroundColor: this.stacked ? st.color + "99" : st.color,
        borderDash: st.dash,
        borderWidth: lw,
        pointStyle: st.marker,
        pointRotation: st.rotation,
        pointRadius: (ctx) => (ctx.dataIndex % step === step - 1 || ctx.dataIndex === data.length - 1 ? pr : 0),
        pointBackgroundColor: st.fill,
        fill: this.stacked ? (i === 0 ? "origin" : "-1") : false,
        spanGaps: true,
        tension: 0,
      };
    });
    if (rest.length) {
      const data = rows.map((r) => (r.subnets || []).filter((x) => rest.includes(x.id)).reduce((a, s) => a + (this.pick(s) || 0), 0));
      datasets.push({
        label: "others", data, borderColor: "#555", backgroundColor: "#bbbbbb99", borderDash: [2, 2],
        borderWidth: lw, pointRadius: 0, fill: "-1",
      });
    }
    if (this.refLine) {
      // A reference level drawn as a grey dotted line, named in the legend.
      datasets.push({
        label: this.refLine.label, data: rows.map(() => this.refLine.value), borderColor: "#555",
        borderDash: [3, 5], borderWidth: lw, pointRadius: 0, fill: false,
      });
    }
    this.chart.data.labels = labels;
    this.chart.data.datasets = datasets;
    this.chart.update("none");
  }
}

/** One series over epochs (network health). */
export class SeriesChart {
  constructor(canvas, { label, yLabel, yFormat, large = false, yMax, ariaLabel, xLabel = "epoch", legend = true }) {
    canvas.setAttribute("role", "img");
    if (ariaLabel) canvas.setAttribute("aria-label", ariaLabel);
    const opts = baseOptions({ large, yLabel, yFormat, yMax, legend });
    opts.scales.x.title.text = xLabel;
    opts.scales.y.min = 0;
    this.large = large;
    this.chart = new window.Chart(canvas, {
      type: "line",
      data: { labels: [], datasets: [{
        label, data: [], borderColor: PALETTE[2], backgroundColor: PALETTE[2] + "33",
        borderWidth: large ? 5 : 2, pointStyle: "circle", pointRadius: large ? 7 : 3, fill: "origin", tension: 0,
      }] },
      options: opts,
    });
  }

  update(xs, ys) {
    if (this.large) fitFonts(this.chart);
    this.chart.data.labels = xs;
    this.chart.data.datasets[0].data = ys;
    this.chart.update("none");
  }
}

export const asPct = (v) => (v * 100).toFixed(0) + "%";

/** Subnet ids ordered by current emission share, largest first (stable for ties). */
export function subnetOrder(market) {
  const subs = (market && market.subnets) || [];
  return subs.slice().sort((a, b) => (b.share || 0) - (a.share || 0) || a.id - b.id).map((s) => s.id);
}

export function subnetNames(market) {
  const out = {};
  for (const s of (market && market.subnets) || []) out[s.id] = subnetLabel(s.id, s.name);
  return out;
}

const SVGNS = "http://www.w3.org/2000/svg";
const MARKER_PATHS = {
  circle: "M 20 6 a 6 6 0 1 0 0.01 0", triangle: "M 20 3 L 27 15 L 13 15 Z", rect: "M 14 3 h 12 v 12 h -12 Z",
  rectRot: "M 20 2 L 28 9 L 20 16 L 12 9 Z", rectRounded: "M 16 3 h 8 a 2 2 0 0 1 2 2 v 8 a 2 2 0 0 1 -2 2 h -8 a 2 2 0 0 1 -2 -2 v -8 a 2 2 0 0 1 2 -2 Z", star: "M 20 2 L 20 16 M 13 9 L 27 9 M 15 4 L 25 14 M 25 4 L 15 14",
  crossRot: "M 15 4 L 25 14 M 25 4 L 15 14", cross: "M 20 2 L 20 16 M 13 9 L 27 9", line: "M 13 9 L 27 9",
};

/** One legend for all the subnet charts: a line sample (colour, dash, marker) and the name. */
export function renderLegend(host, market, large = false) {
  // The subnets the charts draw (the MAX_SERIES largest by share), styled as SubnetChart styles
  // them (by the subnet's rank by id among all): with 64 subnets, not simply SN1 to SN16.
  const all = ((market && market.subnets) || []).slice().sort((a, b) => a.id - b.id);
  const byId = all.map((s) => s.id);
  const drawn = new Set(subnetOrder(market).slice(0, MAX_SERIES));
  const subs = all.filter((s) => drawn.has(s.id));
  const sig = subs.map((s) => s.id + ":" + s.name).join("|");
  if (host.dataset.sig === sig) return;
  host.dataset.sig = sig;
  while (host.firstChild) host.removeChild(host.firstChild);
  subs.forEach((s) => {
    const st = seriesStyle(byId.indexOf(s.id));
    const svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("viewBox", "0 0 40 18");
    svg.setAttribute("width", large ? "60" : "36");
    svg.setAttribute("height", large ? "27" : "16");
    svg.setAttribute("aria-hidden", "true");
    const line = document.createElementNS(SVGNS, "line");
    line.setAttribute("x1", "0"); line.setAttribute("y1", "9"); line.setAttribute("x2", "40"); line.setAttribute("y2", "9");
    line.setAttribute("stroke", st.color); line.setAttribute("stroke-width", "3");
    if (st.dash.length) line.setAttribute("stroke-dasharray", st.dash.map((d) => d / 2).join(" "));
    const mk = document.createElementNS(SVGNS, "path");
    mk.setAttribute("d", MARKER_PATHS[st.marker] || MARKER_PATHS.circle);
    mk.setAttribute("fill", ["star", "crossRot", "cross", "line"].includes(st.marker) ? "none" : st.fill);
    if (st.rotation) mk.setAttribute("transform", `rotate(${st.rotation} 20 9)`);
    mk.setAttribute("stroke", st.color); mk.setAttribute("stroke-width", "2.5");
    svg.append(line, mk);
    const item = document.createElement("span");
    item.className = "legend-item";
    const name = document.createElement("span");
    name.textContent = subnetLabel(s.id, s.name);
    item.append(svg, name);
    host.appendChild(item);
  });
}

/** A few named series over ticks (e.g. one subnet's spot and moving price). */
export class LinesChart {
  constructor(canvas, { series, yLabel, yFormat, ariaLabel, logY = false }) {
    canvas.setAttribute("role", "img");
    if (ariaLabel) canvas.setAttribute("aria-label", ariaLabel);
    const opts = baseOptions({ large: false, yLabel, yFormat, logY });
    opts.plugins.legend.labels.boxWidth = 30;
    this.series = series;
    this.chart = new window.Chart(canvas, {
      type: "line",
      data: { labels: [], datasets: series.map((sr, i) => {
        const st = seriesStyle(sr.style ?? i);
        return { label: sr.label, data: [], borderColor: st.color, backgroundColor: st.color, borderDash: st.dash,
          borderWidth: 2, pointStyle: st.marker, pointRotation: st.rotation, pointBackgroundColor: st.fill,
          pointRadius: 0, tension: 0, spanGaps: true };
      }) },
      options: opts,
    });
  }

  /** xs: tick numbers; columns: one array of values per series. */
  update(xs, columns) {
    const step = Math.max(1, Math.ceil(xs.length / 8));
    this.chart.data.labels = xs;
    this.chart.data.datasets.forEach((d, i) => {
      d.data = columns[i];
      d.pointRadius = (c) => (c.dataIndex % step === step - 1 || c.dataIndex === xs.length - 1 ? 3 : 0);
    });
    this.chart.update("none");
  }
}
