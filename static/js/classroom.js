// Running the class on the phones and the projector (issue #16, docs/protocol.md "question",
// "announcement", "eyes_up"): the teacher's announcement, the eyes-up cover, and the prediction
// question card. Everything is drawn from the store (static/js/store.js); nothing here blocks
// the trade panel: the question is a card in the page, not a dialog.

import { el, replace, toast } from "./ui.js";
import { newClientId } from "./socket.js";

const STORE_EVENTS = ["snapshot", "question", "announcement", "eyes_up", "status"];

function onChange(store, fn, events = STORE_EVENTS) {
  for (const type of events) store.addEventListener(type, fn);
}

function dismissedKey(code, what) { return `dismissed-${what}:${code}`; }
function dismissed(code, what) {
  try { return Number(sessionStorage.getItem(dismissedKey(code, what)) || 0); } catch (e) { return 0; }
}
function dismiss(code, what, n) {
  try { sessionStorage.setItem(dismissedKey(code, what), String(n)); } catch (e) { /* full */ }
}

/** The teacher's announcement, until replaced, cleared or (on a phone) dismissed. */
export function mountAnnouncement(store, host, { dismissible }) {
  const box = el("div", { class: "announce", id: "announcement", role: "status", "aria-live": "polite", hidden: true });
  host.append(box);
  const render = () => {
    const a = store.state.announcement;
    const hide = !a || (dismissible && dismissed(store.code, "announcement") >= a.number);
    box.hidden = hide;
    if (hide) { replace(box); return; }
    const parts = [el("strong", { class: "announce-from" }, "From your teacher: "), el("span", { id: "announcement-text" }, a.text)];
    if (dismissible) {
      parts.push(" ", el("button", { type: "button", class: "btn small", id: "announcement-close", onclick: () => { dismiss(store.code, "announcement", a.number); render(); } }, "Dismiss"));
    }
    replace(box, ...parts);
  };
  onChange(store, render);
  render();
}

/** "Eyes up": covers the page until the teacher lifts it. */
export function mountEyesUp(store, host, text) {
  const box = el("div", { class: "eyes-up-box", tabindex: "-1" }, el("h2", { id: "eyes-up-h" }, "Eyes up!"), el("p", {}, text));
  const cover = el("div", { class: "eyes-up", id: "eyes-up", role: "dialog", "aria-modal": "true", "aria-labelledby": "eyes-up-h", hidden: true }, box);
  host.append(cover);
  let before = null;   // where focus was when the cover came up: it goes back there after
  const render = () => {
    const on = !!store.state.eyesUp;
    if (on === !cover.hidden) return;
    cover.hidden = !on;
    document.body.classList.toggle("eyes-up-on", on);
    // Nothing under the cover can be reached (keyboard, screen reader) while it is up.
    for (const node of document.body.children) if (node !== cover && node.tagName !== "SCRIPT") node.inert = on;
    if (on) { before = document.activeElement; box.focus(); }
    else if (before && before.focus) { before.focus(); before = null; }
  };
  onChange(store, render);
  render();
}

/** The class's answers to a revealed question: one bar per choice. */
export function distribution(q, mine = null) {
  const counts = q.counts || [];
  const total = counts.reduce((a, b) => a + b, 0);
  return el("ul", { class: "q-dist", "aria-label": "How the class answered" }, q.choices.map((text, i) => {
    const n = counts[i] || 0;
    const share = total ? Math.round((100 * n) / total) : 0;
    return el("li", { class: mine === i ? "mine" : "" },
      el("span", { class: "q-dist-text" }, text, mine === i ? el("strong", {}, " (your answer)") : ""),
      el("progress", { max: String(total || 1), value: String(n), "aria-label": `${text}: ${n} of ${total}` }),
      el("span", { class: "num" }, `${n} (${share}%)`));
  }));
}

/** The phone's question card: pick a choice while the question is open; trading goes on. */
export function mountPhoneQuestion(store, sock, host) {
  const card = el("section", { class: "card question-card", id: "question-card", "aria-labelledby": "question-h", hidden: true });
  host.append(card);
  let sending = false;
  const answer = async (q, choice, button) => {
    if (sending) return;
    sending = true;
    button.setAttribute("aria-busy", "true");
    try {
      await sock.request({ type: "answer", id: "a-" + newClientId().slice(0, 24), question: q.id, choice });
    } catch (err) {
      toast(err.code === "question_closed" ? "Answers are closed for this question." : (err.message || "Not sent."), "error", 6000, button);
      if (err.code === "already_answered") sock.requestSnapshot();
    } finally {
      sending = false;
      button.removeAttribute("aria-busy");
    }
  };
  const render = () => {
    const st = store.state;
    const q = st.question;
    const mine = st.myAnswer && q && st.myAnswer.question === q.id ? st.myAnswer.choice : null;
    const hide = !q || dismissed(store.code, "question") >= q.id * 10 + ({ open: 0, closed: 1, revealed: 2 }[q.status] || 0);
    card.hidden = hide;
    if (hide) { replace(card); return; }
    const body = [el("h2", { id: "question-h" }, `Question ${q.number}: what do you predict?`), el("p", { class: "q-text" }, q.text)];
    if (q.status === "open" && mine === null) {
      body.push(el("div", { class: "q-choices", role: "group", "aria-labelledby": "question-h" }, q.choices.map((c, i) => {
        const b = el("button", { type: "button", class: "btn q-choice", "data-choice": String(i) }, c);
        b.addEventListener("click", () => answer(q, i, b));
        return b;
      })));
      body.push(el("p", { class: "muted" }, "Trading goes on while you think."));
    } else {
      if (mine !== null) body.push(el("p", {}, "Your answer: ", el("strong", { id: "q-mine" }, q.choices[mine]), "."));
      if (q.status === "open") body.push(el("p", { class: "muted" }, "The teacher shows the class's answers later."));
      if (q.status === "closed") body.push(el("p", { class: "muted" }, mine === null ? "Answers are closed." : "Answers are closed: the teacher shows them soon."));
      if (q.status === "revealed") body.push(distribution(q, mine));
      const level = q.id * 10 + ({ open: 0, closed: 1, revealed: 2 }[q.status] || 0);
      body.push(el("button", { type: "button", class: "btn small", id: "q-hide", onclick: () => { dismiss(store.code, "question", level); render(); } }, "Hide"));
    }
    replace(card, ...body);
  };
  onChange(store, render);
  render();
}

/** The projector's question: how many answered; the distribution once revealed. */
export function mountProjectorQuestion(store, host) {
  const panel = el("section", { class: "proj-question", id: "proj-question", "aria-labelledby": "proj-question-h", hidden: true });
  host.append(panel);
  const render = () => {
    const { question: q, answers } = store.state;
    panel.hidden = !q;
    if (!q) { replace(panel); return; }
    const count = answers && answers.question === q.id ? answers : { answered: 0, of: 0 };
    const status = { open: "Answer on your phone", closed: "Answers closed", revealed: "The class answered" }[q.status] || "";
    replace(panel,
      el("h2", { id: "proj-question-h" }, `Question ${q.number}: ${q.text}`),
      el("p", { class: "proj-q-count" }, el("span", { class: "num", id: "proj-q-answered" }, String(count.answered)), ` of ${count.of} answered · ${status}`),
      q.status === "revealed" ? distribution(q) : el("ol", { class: "proj-q-choices" }, q.choices.map((c) => el("li", {}, c))));
  };
  onChange(store, render);
  render();
}

