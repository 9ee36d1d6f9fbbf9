// Chart pieces shared by the debrief page and the private report: a linear tick axis shared by
// every time chart, dashed event markers on it, and a movable cursor for the replay scrubber.
// Uses the vendored Chart.js (window.Chart) and the app's colour-blind-safe series styles.

import { seriesStyle } from "./charts.js";
import { fmt } from "./ui.js";

export { seriesStyle };

/** Dashed vertical lines with a number at each event's tick, and an optional cursor line. */
export function markers(events, cursor = { tick: null }) {
  return {
    id: "debriefMarkers",
    afterDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      const x = scales.x;
      if (!x || !chartArea) return;
      ctx.save();
      ctx.font = `bold ${Math.max(12, window.Chart.defaults.font.size || 12)}px system-ui, sans-serif`;
      events.forEach((ev, n) => {
        const px = x.getPixelForValue(ev.tick);
        if (!(px >= chartArea.left && px <= chartArea.right)) return;
        ctx.strokeStyle = "#333";
        ctx.fillStyle = "#333";
        ctx.lineWidth = 1.5;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
        ctx.fillText(String(n + 1), px + 3, chartArea.top + 12);
      });
      if (cursor.tick !== null && cursor.tick !== undefined) {
        const px = x.getPixelForValue(cursor.tick);
        ctx.setLineDash([]);
        ctx.strokeStyle = "#a31515";
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
      }
      ctx.restore();
    },
  };
}

export function lineDataset(label, points, i, extra = {}) {
  const s = seriesStyle(i);
  return {
    label, data: points, borderColor: s.color, backgroundColor: s.color + "55",
    borderDash: s.dash, pointStyle: s.marker, pointRotation: s.rotation,
    pointBackgroundColor: s.fill, pointRadius: 0, pointHitRadius: 6,
    borderWidth: 2, tension: 0, spanGaps: true, ...extra,
  };
}

export function timeOptions({ yLabel, logY = false, stacked = false, yMax, yFormat, xLabel = "tick", xMin, xMax, yMin }) {
  return {
    responsive: true, maintainAspectRatio: false, animation: false, parsing: true,
    interaction: { mode: "nearest", intersect: false },
    plugins: { legend: { position: "bottom", labels: { usePointStyle: true } } },
    scales: {
      x: { type: "linear", min: xMin, max: xMax, title: { display: true, text: xLabel }, ticks: { precision: 0 } },
      y: {
        type: logY ? "logarithmic" : "linear", stacked, min: stacked ? 0 : yMin, max: yMax,
        title: { display: !!yLabel, text: yLabel || "" },
        ticks: { callback: yFormat || ((v) => fmt(v, 3)) },
      },
    },
  };
}

export function makeChart(canvas, config) {
  canvas.setAttribute("role", "img");
  return new window.Chart(canvas, config);
}

export const asPct = (v) => (v * 100).toFixed(0) + "%";

/** Per-subnet series over ticks from tick rows: {id: [{x: tick, y}]}. */
export function subnetSeries(ticks, key) {
  const out = new Map();
  for (const row of ticks) {
    for (const s of row.subnets) {
      if (!out.has(s.id)) out.set(s.id, []);
      out.get(s.id).push({ x: row.tick, y: s[key] });
    }
  }
  return out;
}
