// Join page: offer "continue as …" when this browser kept a seat for the typed code (the seat
// cookie may be gone: private mode, cleared cookies), using POST /join/<code>/resume.

import { el, $, replace } from "./ui.js";

const codeInput = $("#id_code");
const box = $("#resume-box");

function saved(code) {
  try { return JSON.parse(localStorage.getItem("seat:" + code) || "null"); } catch (e) { return null; }
}

function normalize(code) { return (code || "").trim().toUpperCase().replace(/[^A-Z0-9]/g, ""); }

function show() {
  const code = normalize(codeInput.value);
  const seat = code ? saved(code) : null;
  if (!seat || !seat.token) { box.hidden = true; replace(box); return; }
  const btn = el("button", { type: "button", class: "btn big", id: "resume-btn" }, `Continue as ${seat.nickname || "your player"}`);
  btn.addEventListener("click", () => resume(code, seat, btn));
  replace(box, el("p", {}, "This phone already has a seat in this game."), btn);
  box.hidden = false;
}

async function resume(code, seat, btn) {
  btn.disabled = true;
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
  try {
    const r = await fetch(`/join/${encodeURIComponent(code)}/resume`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.value : "" },
      body: JSON.stringify({ token: seat.token }),
      credentials: "same-origin",
    });
    const data = await r.json().catch(() => ({}));
    if (r.ok && data.ok && data.redirect) { location.assign(data.redirect); return; }
    localStorage.removeItem("seat:" + code);
    replace(box, el("p", { class: "alert error", role: "alert" }, "That seat is no longer available: join again below."));
  } catch (e) {
    replace(box, el("p", { class: "alert error", role: "alert" }, "Could not reach the server. Check the Wi-Fi and try again."));
  } finally {
    btn.disabled = false;
  }
}

codeInput.addEventListener("input", show);
show();

// A refused join comes back with the typed code and nickname filled in by the server.
