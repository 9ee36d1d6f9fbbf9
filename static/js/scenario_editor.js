// The scenario editor's dry run: the form as it stands (unsaved) posted to the server, which
// validates it with the simulator and plays it with bots only; the answer's series are charted
// (price per subnet, emission share) with the vendored Chart.js, or the errors are shown.
import { seriesStyle } from "./charts.js";

const form = document.getElementById("scenario-form");
const button = document.getElementById("dry-run");
const status = document.getElementById("dry-run-status");
const charts = {};

function draw(id, ticks, subnets, key, title) {
  const canvas = document.getElementById(id);
  if (charts[id]) charts[id].destroy();
  const datasets = subnets.map((s, i) => {
    const st = seriesStyle(i);
    const pad = ticks.length - s[key].length;
    return {
      label: `SN${s.id} ${s.name}`, data: Array(pad).fill(null).concat(s[key]),
      borderColor: st.color, backgroundColor: st.fill, borderDash: st.dash,
      pointStyle: st.marker, pointRadius: 0, borderWidth: 2,
    };
  });
  charts[id] = new window.Chart(canvas, {
    type: "line",
    data: { labels: ticks, datasets },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { title: { display: true, text: title } },
      scales: { x: { title: { display: true, text: "tick" } } },
    },
  });
  canvas.dataset.series = String(datasets.length);
  canvas.dataset.points = String(ticks.length);
}

async function dryRun() {
  button.disabled = true;
  status.textContent = "Playing the scenario with bots…";
  status.className = "muted";
  try {
    const res = await fetch(form.dataset.dryRun, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
    });
    const doc = await res.json();
    if (!doc.ok) {
      const fields = Object.entries(doc.errors || {}).map(([k, v]) => `${k}: ${v}`);
      status.textContent = [doc.error, ...fields].join(" ");
      status.className = "bad";
      status.dataset.state = "error";
      return;
    }
    draw("dry-price", doc.ticks, doc.subnets, "price", "Price per subnet (TAO per alpha)");
    draw("dry-share", doc.ticks, doc.subnets, "share", "Share of TAO emission");
    status.textContent = `Played ${doc.ticks.length} ticks (${doc.epochs_played} of `
      + `${doc.epochs} epochs) with bots only.`;
    status.dataset.state = "done";
  } catch (err) {
    status.textContent = `The dry run failed: ${err}`;
    status.className = "bad";
    status.dataset.state = "error";
  } finally {
    button.disabled = false;
  }
}

button.addEventListener("click", dryRun);
