// The debrief's "same class, rule changed" section (game/debrief/compare.py): this round beside the one
// it was played after, on a shared epoch axis. Loaded only when there is a previous round.

import { $ } from "./ui.js";
import { lineDataset, timeOptions, makeChart, asPct } from "./debrief_charts.js";

const cmp = JSON.parse($("#debrief-compare").textContent);

function points(side, key) {
  return side.epochs.map((epoch, i) => ({ x: epoch, y: side[key][i] }));
}

function chart(canvas, key, opts) {
  const datasets = [
    lineDataset(`Before (${cmp.previous.code})`, points(cmp.previous, key), 0, { pointRadius: 3 }),
    lineDataset(`This round (${cmp.this.code})`, points(cmp.this, key), 1, { pointRadius: 3 }),
  ];
  makeChart(canvas, { type: "line", data: { datasets }, options: timeOptions({ xLabel: "epoch", ...opts }) });
}

chart($("#ch-cmp-health"), "network_health", { yMin: 0, yMax: 1, yFormat: asPct });
chart($("#ch-cmp-return"), "students_return", { yFormat: asPct });
