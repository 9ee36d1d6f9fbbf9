// Rounds of one session (game/actions/rounds.py, docs/protocol.md "next_round"). Loaded after the page's
// entry module (play.js or console.js), through its `window.dtao = {sock, store}` handle.
//
// Student page: when the class moves (a practice round, back to the real game, the next round)
// the page posts to the new round's carry URL with this round's seat token and follows the
// redirect: the same seat and nickname, no new join. A seat that was not carried (joined after
// the move) stays, and is told where the class went.
// Console: the round buttons (practice first, back to the real game, play again with one
// setting changed) and a link to where the class went.

import { newClientId } from "./socket.js";
import { el, $, replace, bootstrap, toast, once } from "./ui.js";
import { reasonText } from "./protocol.js";

const boot = bootstrap();
const { sock, store } = window.dtao;
const S = () => store.state;
const tried = new Set(); // codes this page already tried to carry its seat into

function csrf() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

function note(...children) {
  const box = $("#next-round");
  if (!box) return;
  replace(box, ...children);
  box.hidden = false;
}

async function follow(next) {
  if (!next) { const box = $("#next-round"); if (box) box.hidden = true; return; } // the class came back
  if (next.code === boot.code || tried.has(next.code)) return;
  tried.add(next.code);
  const where = next.practice ? "the practice round" : "the next round";
  note(`Moving you to ${where}…`);
  try {
    const r = await fetch(next.carry_url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ from: boot.code, token: boot.token || "" }),
      credentials: "same-origin",
    });
    const data = await r.json().catch(() => ({}));
    if (r.ok && data.ok && data.redirect) { location.assign(data.redirect); return; }
    if (next.practice) note("The class is playing a practice round. Keep this page open: you play in the real game.");
    else note("The class moved on to another game. ", el("a", { href: "/join/" + encodeURIComponent(next.code) }, "Join it here"));
  } catch (e) {
    tried.delete(next.code);
    note("Could not reach the server to move you to ", where, ". ",
      el("button", { type: "button", class: "btn small", onclick: () => follow(next) }, "Try again"));
  }
}

// --- the console ------------------------------------------------------------------------------

const ROUND_OK = { practice: "Practice round ready", to_real: "Back to the real game", play_again: "Next round ready" };

function control(op, fields, button) {
  return once(button, async () => {
    try {
      const r = await sock.request({ type: "control", id: "k-" + newClientId().slice(0, 24), op, ...fields });
      toast(ROUND_OK[op], "ok", 3000, button);
      if (r.result && r.result.console_url) location.assign(r.result.console_url);
    } catch (err) {
      toast(`${err.message || reasonText(err.code)}`, "error", 7000, button);
    }
  });
}

function againFields() {
  const setting = $("#again-setting").value;
  if (!setting) return {};
  if (setting === "rules") return { setting, value: $("#again-rules").value };
  if (setting === "registration") return { setting, value: $("#again-registration").value === "on" };
  return { setting, value: Number($("#again-stake").value) };
}

function renderConsole() {
  const card = $("#rounds-card");
  const game = S().game;
  if (!card || !game) return;
  const practice = card.dataset.practice === "1";
  const next = S().nextRound;
  card.hidden = false;
  $("#round-practice").hidden = practice || card.dataset.hadPractice === "1" || game.status !== "lobby" || !!next;
  $("#round-real").hidden = !practice;
  $("#again-form").hidden = practice || game.status !== "ended" || !!next;
  const link = $("#round-next");
  link.hidden = !next;
  if (next) {
    link.href = next.console_url;
    link.textContent = next.practice ? "Open the practice round's console" : `Open the console of ${next.code}`;
  }
}

function bindConsole() {
  $("#round-practice").addEventListener("click", (ev) => control("practice", {}, ev.currentTarget));
  $("#round-real").addEventListener("click", (ev) => control("to_real", {}, ev.currentTarget));
  const setting = $("#again-setting");
  const showValue = () => {
    for (const name of ["rules", "registration", "stake"]) {
      $(`#again-${name}-field`).hidden = setting.value !== (name === "stake" ? "foundation_stake" : name);
    }
  };
  setting.addEventListener("change", showValue);
  showValue();
  $("#again-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    control("play_again", againFields(), ev.submitter || $("#again-submit"));
  });
  store.addEventListener("change", renderConsole);
  renderConsole();
}

// The projector follows with its own token: the new game's projector page takes the token of
// the game its class came from (game/web/views.py `projector`) and redirects to its own address.
function followProjector(next) {
  if (!next || next.code === boot.code || tried.has(next.code)) return;
  tried.add(next.code);
  location.assign(`/projector/${encodeURIComponent(next.code)}/${encodeURIComponent(boot.projector_token)}/`);
}

if (boot.is_instructor) bindConsole();
else if (boot.is_projector) {
  store.addEventListener("change", () => followProjector(S().nextRound));
  followProjector(S().nextRound);
} else {
  store.addEventListener("change", () => follow(S().nextRound));
  follow(S().nextRound);
}
