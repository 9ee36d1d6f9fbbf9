// The projector: read-only. Lobby (code, QR, head count), then large charts, the clock, event
// banners and the top-N leaderboard (nicknames only). Charts are drawn with the same module the
// instructor console uses for its live view.

import { GameSocket } from "./socket.js";
import { Store } from "./store.js";
import { el, $, replace, bootstrap, fmt, pct, bindConnectionPill } from "./ui.js";
import { startClock, NewsBanner, secondsToTick } from "./common.js";
import { subnetNameOf } from "./views.js";
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
const news = new NewsBanner(undefined, (id) => subnetNameOf(S().market)(id));

/** Which screen the projector shows: the lobby, a message (starting, or a game that ended
 *  before it started), or the live game (charts, leaderboard; "Game over" once it ended). */
function screenOf(st) {
  const g = st.game || {};
  if (!st.game || g.status === "lobby") return "lobby";
  if (!st.market) return "message";
  return "play";
}

function renderMessage(st) {
  const g = st.game || {};
  if (g.status === "ended") {
    $("#proj-message-h").textContent = "This game is over";
    $("#proj-message-text").textContent = "It ended before the first tick: there are no results to show.";
    $("#proj-message-join").hidden = true;
    return;
  }
  const left = secondsToTick(g);
  $("#proj-message-h").textContent = "Starting…";
  $("#proj-message-text").textContent = g.status === "paused" ? "The first prices come when the teacher resumes the game."
    : `First prices in ${left ?? "a few"} s. Look at your phone: your role and your money are there.`;
  $("#proj-message-join").hidden = !!g.locked;
}

function reportUrl() {
  const join = $("#proj-url") ? $("#proj-url").textContent : "";
  return `${join.replace(/\/join\/[^/]*$/, "")}/report/${boot.code}/`;
}

function render() {
  const st = S();
  drawClock();
  const g = st.game || {};
  news.update(g);
  const screen = screenOf(st);
  $("#proj-lobby").hidden = screen !== "lobby";
  $("#proj-message").hidden = screen !== "message";
  $("#proj-play").hidden = screen !== "play";
  $("#pause-overlay").hidden = g.status !== "paused";
  $("#proj-count").textContent = String(st.players || st.lobby.length || 0);
  $("#proj-lobby-status").textContent = g.locked ? "The game is locked: no new players." : "";
  if (g.name) $("#proj-name").textContent = g.name;
  if (screen === "lobby") {
    const names = (st.lobby || []).slice(-40);
    replace($("#proj-names"), ...names.map((p) => el("li", {}, p.nickname)));
    return;
  }
  if (screen === "message") { renderMessage(st); return; }
  if (!charts) charts = new ChartSet({ price: $("#ch-price"), share: $("#ch-share"), rho: $("#ch-rho"), health: $("#ch-health") }, { large: true, legend: $("#legend") });
  charts.update(st);
  const h = st.epochs.length ? st.epochs[st.epochs.length - 1].network_health : undefined;
  $("#proj-health").textContent = typeof h === "number" ? `Network health ${pct(h, 0)}` : "";
  renderLeaderboard();
  const ended = g.status === "ended";
  $("#lb-h").textContent = ended ? "Final: students by return" : "Students by return";
  $("#proj-over").hidden = !ended;
  $("#proj-join").hidden = ended || !!g.locked;
  if (ended) $("#proj-report-url").textContent = reportUrl();
}

bindConnectionPill($("#conn"), sock);
const drawClock = startClock($("#clock"), () => S().game);
// The "Starting… first prices in N s" countdown between renders.
setInterval(() => { if (screenOf(S()) === "message") renderMessage(S()); }, 1000);
// Read-only handle for the browser tests.
window.dtao = { sock, store };
sock.addEventListener("snapshot", (e) => store.apply(e.detail));
sock.addEventListener("message", (e) => store.apply(e.detail));
store.addEventListener("change", render);
// Resized window (another projector resolution): redraw with fonts to match.
let resizeTimer = null;
window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(render, 150); });
store.addEventListener("tick", (e) => { for (const ev of e.detail.events) news.show(ev, S().game); });
sock.connect();
