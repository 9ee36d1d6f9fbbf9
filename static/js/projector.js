// The projector: read-only. Lobby (code, QR, head count), then large charts, the clock, event
// banners and the top-N leaderboard (nicknames only). Charts are drawn with the same module the
// instructor console uses for its live view.

import { GameSocket } from "./socket.js";
import { Store } from "./store.js";
import { el, $, replace, bootstrap, fmt, pct, bindConnectionPill } from "./ui.js";
import { startClock, showNews } from "./common.js";
import { ChartSet } from "./chartset.js";

const boot = bootstrap();
const store = new Store(boot.code);
const sock = new GameSocket(boot.ws_url);
const S = () => store.state;

let charts = null;

/** Big numbers short enough to read from the back of the room: 5.00M, 100.0k, 1,558. */
function compact(x) {
  if (typeof x !== "number") return "–";
  const a = Math.abs(x);
  if (a >= 1e6) return (x / 1e6).toFixed(2) + "M";
  if (a >= 1e5) return (x / 1e3).toFixed(1) + "k";
  return fmt(x);
}

/** A return on what a student brought in, e.g. "+12.5%". */
function signedPct(x) {
  if (typeof x !== "number") return "–";
  return (x >= 0 ? "+" : "−") + Math.abs(x * 100).toFixed(1) + "%";
}

function renderLeaderboard() {
  const lb = S().leaderboard || [];
  replace($("#leaderboard"), ...lb.map((r) => el("li", {},
    el("span", { class: "rk" }, `${r.rank}.`),
    el("span", { class: "nick" }, r.nickname),
    el("span", { class: "nw" }, signedPct(r.return)))));
}

function render() {
  const st = S();
  drawClock();
  const g = st.game || {};
  const lobby = g.status === "lobby" || !st.market;
  $("#proj-lobby").hidden = !lobby;
  $("#proj-play").hidden = lobby;
  $("#proj-count").textContent = String(st.players || st.lobby.length || 0);
  $("#proj-lobby-status").textContent = g.status === "ended" ? "This game is over." : g.locked ? "The game is locked: no new players." : "";
  if (g.name) $("#proj-name").textContent = g.name;
  if (lobby) {
    const names = (st.lobby || []).slice(-40);
    replace($("#proj-names"), ...names.map((p) => el("li", {}, p.nickname)));
    return;
  }
  if (!charts) charts = new ChartSet({ price: $("#ch-price"), share: $("#ch-share"), rho: $("#ch-rho"), health: $("#ch-health") }, { large: true, legend: $("#legend") });
  charts.update(st);
  const h = st.epochs.length ? st.epochs[st.epochs.length - 1].network_health : undefined;
  $("#proj-health").textContent = typeof h === "number" ? `Network health ${pct(h, 0)}` : "";
  renderLeaderboard();
  $("#lb-h").textContent = g.status === "ended" ? "Final: students by return" : "Students by return";
  if (g.status === "ended" && $("#news-title").textContent !== "Game over") showNews({ title: "Game over", text: "Thanks for playing! The debrief comes next." });
}

bindConnectionPill($("#conn"), sock);
const drawClock = startClock($("#clock"), () => S().game);
sock.addEventListener("snapshot", (e) => store.apply(e.detail));
sock.addEventListener("message", (e) => store.apply(e.detail));
store.addEventListener("change", render);
// Resized window (another projector resolution): redraw with fonts to match.
let resizeTimer = null;
window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(render, 150); });
store.addEventListener("tick", (e) => { for (const ev of e.detail.events) showNews(ev); });
sock.connect();
