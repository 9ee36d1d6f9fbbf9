// Small DOM helpers. Everything that shows data goes through textContent (never innerHTML), so a
// nickname such as "<script>" or "=HYPERLINK(...)" is shown as the characters it is.

/** el("td", {class: "num", dataset: {id: 3}}, "text", childNode, ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "text") node.textContent = String(v);
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else if (c instanceof Node) node.appendChild(c);
    else node.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function replace(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

export function $(sel, root = document) { return root.querySelector(sel); }
export function $all(sel, root = document) { return Array.from(root.querySelectorAll(sel)); }

export function bootstrap() {
  const node = document.getElementById("bootstrap");
  return node ? JSON.parse(node.textContent) : {};
}

// --- number formatting ---

export function isNum(x) { return typeof x === "number" && Number.isFinite(x); }

/** Significant-figure formatting that stays readable from 1e-6 to 1e7. */
export function fmt(x, digits = 4) {
  if (!isNum(x)) return "–";
  const a = Math.abs(x);
  if (a === 0) return "0";
  if (a >= 1e6) return x.toLocaleString("en-US", { maximumFractionDigits: 0 });
  if (a >= 1000) return x.toLocaleString("en-US", { maximumFractionDigits: 1 });
  if (a >= 1) return x.toLocaleString("en-US", { maximumFractionDigits: Math.max(0, digits - 1) });
  if (a < 1e-6) return x.toExponential(2);
  return x.toPrecision(digits).replace(/0+$/, "").replace(/\.$/, "");
}
/** One name per subnet on every page: "SN28 · TAO Accumulation Corp" (its number, then its
 *  name; the number alone when it has no name or the name is just "Subnet 28"). The Python
 *  twin is game.names.subnet_label. */
export function subnetLabel(id, name) {
  const n = name === undefined || name === null ? "" : String(name).trim();
  const sn = "SN" + id;
  return !n || n === sn || n === "Subnet " + id ? sn : `${sn} · ${n}`;
}

/** A text ("SN28 pays its holders") with every "SN<id>" of a subnet in `nameOf` (id → name:
 *  a Map or a function) written as its label. */
export function labelMentions(text, nameOf) {
  const look = typeof nameOf === "function" ? nameOf : (id) => nameOf && nameOf.get(id);
  return String(text ?? "").replace(/\bSN ?(\d+)\b(?! ·)/g, (m, d) => {
    const name = look(Number(d));
    return name === undefined || name === null ? m : subnetLabel(Number(d), name);
  });
}

export function tao(x) { return isNum(x) ? fmt(x) + " τ" : "–"; }
export function alpha(x) { return isNum(x) ? fmt(x) + " α" : "–"; }
export function pct(x, digits = 1) {
  if (!isNum(x)) return "–";
  return (x * 100).toFixed(Math.abs(x) < 0.001 && x !== 0 ? 3 : digits) + "%";
}
export function signedPct(x, digits = 1) {
  if (!isNum(x)) return "–";
  const s = (x * 100).toFixed(digits);
  return (x > 0 ? "+" : "") + s + "%";
}
export function signed(x) {
  if (!isNum(x)) return "–";
  return (x > 0 ? "+" : x < 0 ? "−" : "") + fmt(Math.abs(x));
}
/** A change shown with a word and an arrow as well as colour. */
export function changeNode(x) {
  if (!isNum(x)) return el("span", { class: "muted" }, "–");
  const cls = x > 0 ? "good" : x < 0 ? "bad" : "muted";
  const arrow = x > 0 ? "▲ " : x < 0 ? "▼ " : "";
  return el("span", { class: "num " + cls }, arrow + signedPct(x));
}

// --- "explain this number": a button that toggles an inline panel (tap, not hover) ---
// Built once and updated in place every tick, so an open panel stays open with live inputs and
// keyboard focus is never lost to a re-render.

let explainSeq = 0;

export class Explain {
  /** builder() returns {title, formula, inputs: [[name, value]], result, note}. */
  /** host: where the panel goes (e.g. under a grid of figures); default inline. */
  constructor(label, builder, { block = false, host = null } = {}) {
    this.builder = builder;
    const id = "explain-" + (++explainSeq);
    this.value = el("span", { class: "num" }, "–");
    this.btn = el("button", {
      type: "button", class: "explain-btn", "aria-expanded": "false", "aria-controls": id,
      "aria-label": "Explain " + label, title: "Explain " + label,
    }, "?");
    this.panel = el("div", { id, class: "explain-panel", hidden: true, role: "region", "aria-label": "How " + label + " is computed" });
    this.btn.addEventListener("click", () => {
      const open = this.btn.getAttribute("aria-expanded") !== "true";
      this.btn.setAttribute("aria-expanded", String(open));
      this.panel.hidden = !open;
      if (open) this.refresh();
    });
    this.node = el(block ? "div" : "span", { class: "explainable" }, this.value, this.btn);
    if (host) host.appendChild(this.panel); else this.node.appendChild(this.panel);
  }

  set(v) {
    if (v instanceof Node) replace(this.value, v); else this.value.textContent = v;
    this.refresh();
    return this;
  }

  refresh() {
    if (this.panel.hidden) return;
    replace(this.panel, ...explainContent(this.builder()));
  }

  get isOpen() { return !this.panel.hidden; }
}

function explainContent(spec) {
  const out = [];
  if (spec.title) out.push(el("strong", {}, spec.title));
  if (spec.formula) out.push(el("code", { class: "formula" }, spec.formula));
  if (spec.inputs && spec.inputs.length) {
    const dl = el("dl");
    for (const [k, v] of spec.inputs) dl.append(el("dt", {}, k), el("dd", {}, v));
    out.push(dl);
  }
  if (spec.result) out.push(el("p", {}, el("strong", {}, "= "), spec.result));
  if (spec.note) out.push(el("p", { class: "muted" }, spec.note));
  return out;
}

/** A labelled key figure (figures grid) with an optional explanation. */
export function figure(label, explainBuilder, host = null) {
  const ex = explainBuilder ? new Explain(label, explainBuilder, { host }) : null;
  const v = ex ? ex.node : el("span", { class: "num" }, "–");
  const node = el("div", { class: "figure" }, el("span", { class: "k" }, label), el("span", { class: "v" }, v));
  return {
    node,
    set(x) { if (ex) ex.set(x); else if (x instanceof Node) replace(v, x); else v.textContent = x; },
    refresh() { if (ex) ex.refresh(); },
  };
}

// --- toasts (role=status so screen readers hear them) ---
// A toast never covers a control: given the control it answers (`anchor`), it is placed in the
// page's flow just under that control's row or form; without one, it goes to a strip at the
// bottom of the screen that lets every tap through (pointer-events: none) and expires.

let toastArea = null;
function toastHost(anchor) {
  if (anchor && anchor.isConnected) {
    const row = anchor.closest("form, .btn-row, .row, li, .field") || anchor;
    let host = row.nextElementSibling;
    if (!host || !host.classList.contains("inline-toasts")) {
      host = el("div", { class: "inline-toasts", role: "status", "aria-live": "polite" });
      row.after(host);
    }
    return host;
  }
  if (!toastArea) {
    toastArea = el("div", { class: "toast-area", role: "status", "aria-live": "polite" });
    document.body.appendChild(toastArea);
  }
  return toastArea;
}

export function toast(text, kind = "info", ms = 5000, anchor = null) {
  const host = toastHost(anchor);
  const t = el("div", { class: "alert toast " + kind }, text);
  t.addEventListener("click", () => t.remove());
  host.appendChild(t);
  // At most two at a time: on a phone more would push the page around.
  while (host.children.length > 2) host.firstChild.remove();
  setTimeout(() => t.remove(), ms);
}

/** An amount for a "Max" button: `v` rounded DOWN to `decimals` places, as the text to put in
 *  the field, so that what is sent never exceeds what is held (rounding up would be refused). */
export function floorAmount(v, decimals = 6) {
  if (!(v > 0) || !Number.isFinite(v)) return "0";
  const f = 10 ** decimals;
  let k = Math.floor(v * f);
  if (k / f > v) k -= 1;   // v * f rounded up to the next integer
  if (k <= 0) return "0";
  return (k / f).toFixed(decimals).replace(/0+$/, "").replace(/\.$/, "");
}

// --- connection pill ---

const STATE_TEXT = {
  connecting: "Connecting…",
  syncing: "Syncing…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  closed: "Disconnected",
};
/** The header pill, plus (optionally) a bar pinned to the top of the screen while not live,
 *  so a student scrolled down to the trade panel still sees that the connection dropped. */
export function bindConnectionPill(node, sock, bar = null) {
  const show = (s) => {
    node.dataset.state = s;
    node.textContent = STATE_TEXT[s] || s;
    if (bar) {
      bar.hidden = s === "live" || s === "connecting" || s === "syncing";
      bar.dataset.state = s;
      bar.textContent = s === "offline" ? "✕ Offline: orders wait and are sent when the connection is back"
        : s === "closed" ? "✕ Disconnected" : "◌ " + (STATE_TEXT[s] || s) + " Orders wait and are sent when the connection is back.";
    }
  };
  show(sock.state);
  sock.addEventListener("state", (e) => show(e.detail.state));
}

/**
 * Double-tap protection: the button is disabled while `fn` runs (fn returns a promise).
 */
export async function once(button, fn) {
  if (button.dataset.busy === "1") return;
  button.dataset.busy = "1";
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    button.dataset.busy = "";
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

export function parseAmount(s) {
  if (typeof s !== "string") return NaN;
  const t = s.trim().replace(",", ".");
  if (!/^\d*\.?\d+$|^\d+\.$/.test(t)) return NaN;
  return Number(t);
}
