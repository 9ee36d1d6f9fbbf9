// The console's side of running the class (issue #16): talk to every screen (announcement,
// eyes-up), put prediction questions to the class (a scripted event's, or typed), and the
// participation monitor (who acted this epoch, who is idle, away or getting orders refused).
// Drawn from the store (static/js/store.js); ops go through the console's `control`.

import { el, replace } from "./ui.js";
import { ROLE_TEXT } from "./protocol.js";

const ANNOUNCEMENT_MAX = 280;   // game/announcements.py ANNOUNCEMENT_MAX

function minutes(seconds) {
  if (!(seconds >= 0)) return "";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  return `${Math.floor(seconds / 60)} min`;
}

// --- talk to the class --------------------------------------------------------------------------

function mountTalk(store, control, host) {
  const text = el("textarea", { id: "announce-text", rows: "2", maxlength: String(ANNOUNCEMENT_MAX), "aria-describedby": "announce-count" });
  const count = el("span", { id: "announce-count", class: "muted" }, `0 / ${ANNOUNCEMENT_MAX}`);
  text.addEventListener("input", () => { count.textContent = `${text.value.length} / ${ANNOUNCEMENT_MAX}`; });
  const send = el("button", { type: "submit", class: "btn primary", id: "announce-send" }, "Show on every screen");
  const clearBtn = el("button", { type: "button", class: "btn", id: "announce-clear" }, "Clear");
  const form = el("form", { id: "announce-form" },
    el("label", { for: "announce-text" }, "Announcement"), text, count, el("div", { class: "btn-row" }, send, clearBtn));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    control("announce", { text: text.value }, send).then((r) => { if (r) { text.value = ""; count.textContent = `0 / ${ANNOUNCEMENT_MAX}`; } });
  });
  clearBtn.addEventListener("click", () => control("announce_clear", {}, clearBtn));
  const current = el("p", { id: "announce-current", class: "muted" });
  const eyes = el("button", { type: "button", class: "btn", id: "eyes-up-btn", "aria-pressed": "false" }, "Eyes up");
  eyes.addEventListener("click", () => control("eyes_up", { on: !store.state.eyesUp }, eyes));
  replace(host, el("h2", { id: "talk-h" }, "Talk to the class"), form, current,
    el("div", { class: "btn-row" }, eyes),
    el("p", { class: "muted" }, "Eyes up covers every phone and pauses a running game; lift it to resume."));
  return () => {
    const st = store.state;
    current.textContent = st.announcement ? `On screen now: “${st.announcement.text}”` : "No announcement on screen.";
    eyes.setAttribute("aria-pressed", st.eyesUp ? "true" : "false");
    eyes.textContent = st.eyesUp ? "Lift eyes up (resume)" : "Eyes up";
  };
}

// --- questions ----------------------------------------------------------------------------------

function mountQuestions(store, control, host) {
  const asks = el("div", { class: "btn-row", id: "ask-events" });
  const qText = el("input", { type: "text", id: "ask-text", maxlength: "200" });
  const qChoices = el("textarea", { id: "ask-choices", rows: "3", "aria-describedby": "ask-choices-help" });
  const askBtn = el("button", { type: "submit", class: "btn", id: "ask-send" }, "Ask the class");
  const free = el("form", { id: "ask-form" },
    el("label", { for: "ask-text" }, "Your own question"), qText,
    el("label", { for: "ask-choices" }, "Choices"), qChoices,
    el("p", { id: "ask-choices-help", class: "help muted" }, "One per line, 2 to 5."), askBtn);
  free.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const choices = qChoices.value.split("\n").map((c) => c.trim()).filter(Boolean);
    control("ask", { text: qText.value, choices }, askBtn).then((r) => { if (r) { qText.value = ""; qChoices.value = ""; } });
  });
  const current = el("div", { id: "question-now", "aria-live": "polite" });
  // A toggle, not <details>: a closed <details> hides its controls from Tab but not from layout.
  free.hidden = true;
  const own = el("button", { type: "button", class: "btn small", id: "ask-own", "aria-expanded": "false", "aria-controls": "ask-form" }, "Ask a question of your own");
  own.addEventListener("click", () => {
    free.hidden = !free.hidden;
    own.setAttribute("aria-expanded", free.hidden ? "false" : "true");
    if (!free.hidden) qText.focus();
  });
  replace(host, el("h2", { id: "questions-h" }, "Predictions"),
    el("p", { class: "muted" }, "Ask before an event fires; phones show the question as a card while trading goes on."),
    asks, current, el("div", { class: "btn-row" }, own), free);
  // Redrawn only when what they show changed: a redraw on every tick would take the keyboard
  // focus off a button the teacher is about to press.
  let asksKey = null;
  let currentKey = null;
  return () => {
    const st = store.state;
    const live = st.game && st.game.status !== "ended";
    const askable = (st.events || []).filter((e) => e.prediction && live);
    const aKey = JSON.stringify(askable.map((e) => [e.index, e.title]));
    if (aKey !== asksKey) {
      asksKey = aKey;
      replace(asks, ...askable.map((e) => {
        const b = el("button", { type: "button", class: "btn small", "data-ask": String(e.index) }, `Ask before “${e.title}”`);
        b.addEventListener("click", () => control("ask", { event: e.index }, b));
        return b;
      }));
    }
    const q = st.question;
    const count = q && st.answers && st.answers.question === q.id ? st.answers : { answered: 0, of: 0 };
    const cKey = JSON.stringify(q ? [q.id, q.status, q.text, q.choices, q.counts, count.answered, count.of] : null);
    if (cKey === currentKey) return;
    currentKey = cKey;
    if (!q) { replace(current, el("p", { class: "muted" }, "No question asked yet.")); return; }
    const buttons = [];
    if (q.status === "open") {
      const close = el("button", { type: "button", class: "btn small", id: "q-close" }, "Close answers");
      close.addEventListener("click", () => control("close_question", { question: q.id }, close));
      buttons.push(close);
    }
    if (q.status !== "revealed") {
      const reveal = el("button", { type: "button", class: "btn small primary", id: "q-reveal" }, "Reveal on the projector");
      reveal.addEventListener("click", () => control("reveal", { question: q.id }, reveal));
      buttons.push(reveal);
    }
    replace(current,
      el("p", {}, el("strong", {}, `Q${q.number}: `), q.text),
      el("p", { id: "q-count" }, el("span", { class: "num" }, String(count.answered)), ` of ${count.of} students answered · ${q.status}`),
      q.status === "revealed" ? el("ul", { id: "q-counts" }, q.choices.map((c, i) => el("li", {}, `${c}: `, el("span", { class: "num" }, String((q.counts || [])[i] || 0))))) : "",
      el("div", { class: "btn-row" }, ...buttons));
  };
}

// --- the participation monitor ------------------------------------------------------------------

const FILTERS = { all: "Everyone", idle: "Idle this epoch", away: "Away", refused: "Orders refused" };
const SORTS = { name: "Nickname", orders: "Orders this epoch", idle: "Idle longest" };

/** The monitor's rows: student seats with their counts (game/participation.py). */
export function participationRows(st, now = Date.now() / 1000) {
  const p = st.participation || { tick: -1, epoch: 0, seats: {} };
  return (st.roster || []).filter((r) => r.kind === "human" && !r.kicked).map((r) => {
    const c = p.seats[String(r.seat_id)] || { orders: 0, orders_epoch: 0, refused: 0, last_tick: null, stand_in_orders: 0 };
    return {
      seat_id: r.seat_id, nickname: r.nickname, role: r.role, status: r.status, connected: r.connected,
      ...c, idle: c.last_tick === null ? null : p.tick - c.last_tick,
      away: r.away_since ? Math.max(0, now - r.away_since) : null, stand_in: r.stand_in,
    };
  });
}

function mountMonitor(store, host) {
  const filter = el("select", { id: "pm-filter" }, Object.entries(FILTERS).map(([v, t]) => el("option", { value: v }, t)));
  const sort = el("select", { id: "pm-sort" }, Object.entries(SORTS).map(([v, t]) => el("option", { value: v }, t)));
  const summary = el("p", { id: "pm-summary", class: "big-text", "aria-live": "polite" });
  const tbody = el("tbody");
  const table = el("table", { id: "participation", class: "text-table" },
    el("caption", { class: "sr-only" }, "Participation: each student's orders, idle ticks, away time and stand-in"),
    el("thead", {}, el("tr", {}, ...["Student", "Role", "Orders this epoch", "In all", "Refused", "Idle (ticks)", "Away", "Stand-in"].map((h) => el("th", { scope: "col" }, h)))),
    tbody);
  replace(host, el("h2", { id: "pm-h" }, "Participation"), summary,
    el("div", { class: "btn-row" }, el("label", { for: "pm-filter" }, "Show"), filter, el("label", { for: "pm-sort" }, "Sort by"), sort),
    el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Participation, scrollable" }, table));
  const render = () => {
    const st = store.state;
    const rows = participationRows(st);
    const acted = rows.filter((r) => r.orders_epoch > 0).length;
    const p = st.participation;
    summary.textContent = p && p.tick >= 0 ? `${acted} of ${rows.length} students acted this epoch (epoch ${p.epoch}).` : `${rows.length} students; no tick settled yet.`;
    const keep = { all: () => true, idle: (r) => r.orders_epoch === 0, away: (r) => !r.connected, refused: (r) => r.refused > 0 }[filter.value];
    const order = {
      name: (a, b) => a.nickname.localeCompare(b.nickname),
      orders: (a, b) => b.orders_epoch - a.orders_epoch || a.nickname.localeCompare(b.nickname),
      idle: (a, b) => (b.idle ?? Infinity) - (a.idle ?? Infinity) || a.nickname.localeCompare(b.nickname),
    }[sort.value];
    replace(tbody, ...rows.filter(keep).sort(order).map((r) => el("tr", { "data-seat": String(r.seat_id) },
      el("th", { scope: "row", class: "nick" }, r.nickname),
      el("td", {}, ROLE_TEXT[r.role] || r.role),
      el("td", { class: "num", "data-col": "orders_epoch" }, String(r.orders_epoch)),
      el("td", { class: "num", "data-col": "orders" }, String(r.orders)),
      el("td", { class: "num", "data-col": "refused" }, String(r.refused)),
      el("td", { class: "num" }, r.idle === null ? "never acted" : String(r.idle)),
      el("td", {}, r.away === null ? "–" : minutes(r.away)),
      el("td", {}, r.stand_in ? "holding the seat" : "–", r.stand_in_orders ? ` (${r.stand_in_orders} orders)` : ""))));
  };
  filter.addEventListener("change", render);
  sort.addEventListener("change", render);
  setInterval(render, 15000);   // away times grow between messages
  return render;
}

/** Mount the three cards; returns a render function for the console's render(). */
export function mountConsoleClassroom({ store, control, talk, questions, monitor }) {
  const parts = [mountTalk(store, control, talk), mountQuestions(store, control, questions), mountMonitor(store, monitor)];
  return () => { for (const r of parts) r(); };
}

