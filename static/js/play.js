// The student's page: one screen per role on top of a shared market table, trade panel and
// order list. Built once; every tick updates text in place (no re-render that would steal focus
// or close an open explanation).

import { GameSocket, newClientId } from "./socket.js";
import { Store } from "./store.js";
import { P, CLOSE_TEXT, ROLE_TEXT, ROLE_HELP, reasonText } from "./protocol.js";
import {
  el, $, $all, replace, bootstrap, fmt, tao, alpha, pct, signed, changeNode, isNum, Explain, figure,
  toast, bindConnectionPill, once, parseAmount, floorAmount,
} from "./ui.js";
import { priceChange, updateCtx, newCtx, subnetNameOf } from "./views.js";
import { explainPrice, explainShare, explainRho, explainDividend, explainQuote } from "./explain.js";
import { startClock, NewsBanner, secondsToTick, describeCommand } from "./common.js";
import { LinesChart } from "./charts.js";
import { buildOwnerPanel } from "./owner.js";
import { buildValidatorPanel } from "./validator.js";

const boot = bootstrap();
const store = new Store(boot.code);
const sock = new GameSocket(boot.ws_url, { storageKey: `pending:${boot.code}:${boot.seat_id}` });
const S = () => store.state;

// Shared context the role panels read (rebuilt on every change).
export const ctx = newCtx();

function rebuildCtx() {
  updateCtx(ctx, S());
  if (ctx.selected === null || !ctx.byId.has(ctx.selected)) {
    const own = ctx.me && ctx.me.subnet;
    ctx.selected = ctx.byId.has(own) ? own : (ctx.subnets[0] ? ctx.subnets[0].id : null);
  }
}

// --- sending commands -----------------------------------------------------------------------

/** Send a command; the button stays disabled until the server answers (double-tap guard), or
 *  for a few seconds when offline (the order then waits in "sending" and goes out on reconnect).
 *  Resolves true (stored), false (refused) or null (not answered yet). */
export function sendCommand(cmd, button, okText) {
  return once(button, async () => {
    const msg = { type: "command", id: "c-" + newClientId().slice(0, 24), ...cmd };
    store.noteSent(msg);
    const answer = sock.command(msg).then(
      (r) => { toast((okText || "Order placed") + ` (settles at tick ${r.due_tick})`, "ok", 2500, button); return true; },
      (err) => { toast("Refused: " + (reasonText(err.code) || err.message || "error"), "error", 7000, button); return false; },
    );
    renderOrders();
    const r = await Promise.race([answer, new Promise((res) => setTimeout(() => res(null), 4000))]);
    if (r === null) toast("Not connected: your order is saved and will be sent when the connection is back.", "info", 5000, button);
    renderOrders();
    return r;
  });
}

export function requestQuote(q) {
  return sock.request({ type: "quote", id: "q-" + newClientId().slice(0, 24), ...q });
}

// --- portfolio ------------------------------------------------------------------------------

const pf = {};
function buildPortfolio() {
  const host = $("#portfolio-explain");
  pf.tao = figure("Free TAO");
  pf.worth = figure("Net worth", () => ({
    title: "Net worth (liquidation value)",
    formula: "free TAO + root stake + Σ (what selling each alpha holding now would return, slippage included)",
    inputs: [["free TAO", tao(ctx.me && ctx.me.tao)], ["root stake", tao(ctx.me && ctx.me.root_stake)]],
    result: tao(ctx.me && ctx.me.net_worth),
    note: "Selling a big holding into a thin pool returns much less than price × amount.",
  }), host);
  pf.pnl = figure("Profit / loss");
  pf.rank = figure("Your rank");
  $("#portfolio").append(pf.tao.node, pf.worth.node, pf.pnl.node, pf.rank.node);
}

function renderPortfolio() {
  const me = ctx.me;
  if (!me) return;
  pf.tao.set(tao(me.tao));
  pf.worth.set(tao(me.net_worth));
  const pnl = me.pnl;
  pf.pnl.set(isNum(pnl) ? el("span", { class: pnl > 0 ? "good" : pnl < 0 ? "bad" : "" }, signed(pnl) + " τ") : "–");
  // Holdings with what each would fetch if sold now (the sim's liquidation value).
  const items = Object.entries(me.alpha || {}).filter(([, a]) => a > 0).map(([sid, a]) => {
    const s = ctx.byId.get(Number(sid));
    const v = (me.alpha_value || {})[sid];
    return el("li", {}, el("strong", {}, s ? s.name : "SN" + sid), `: ${alpha(a)}`, isNum(v) ? ` → sells for ${tao(v)}` : "");
  });
  if (isNum(me.root_stake) && me.root_stake > 0) items.push(el("li", {}, el("strong", {}, "Root"), `: ${tao(me.root_stake)} with ${validatorName(me.validator)}`));
  replace($("#holdings"), ...(items.length ? [el("h3", {}, "Holdings"), el("ul", { class: "orders" }, ...items)] : []));
  const { rank, rankOf } = S();
  pf.rank.set(isNum(rank) ? rankText(rank, rankOf) : "–");
  const rb = $("#rank");
  if (isNum(rank)) { rb.hidden = false; rb.textContent = `Rank ${rankText(rank, rankOf)}`; }
}

/** "#4 of 28 students": students are ranked among students only, by return on what they brought. */
function rankText(rank, of) {
  return isNum(of) ? `#${rank} of ${of} students` : `#${rank}`;
}

// --- market table ---------------------------------------------------------------------------

const rows = new Map(); // id -> {tr, cells}
function renderMarket() {
  const tbody = $("#market tbody");
  const tpe = (ctx.game && ctx.game.ticks_per_epoch) || 1;
  const seen = new Set();
  for (const s of ctx.subnets) {
    seen.add(s.id);
    let r = rows.get(s.id);
    if (!r) {
      const nameBtn = el("button", { type: "button", class: "btn small", "data-subnet": s.id });
      nameBtn.addEventListener("click", () => select(s.id, true));
      const cells = {
        name: nameBtn, price: el("span", { class: "num" }), change: el("span", { class: "sub" }),
        share: el("span", { class: "num" }), yld: el("span", { class: "sub num" }), mine: el("td", { class: "num mine-cell" }),
      };
      const tr = el("tr", { "data-subnet": s.id },
        el("th", { scope: "row", class: "name" }, nameBtn),
        el("td", {}, cells.price, el("br"), cells.change),
        el("td", {}, cells.share, el("br"), cells.yld),
        cells.mine);
      r = { tr, cells };
      rows.set(s.id, r);
      tbody.appendChild(tr);
    }
    const held = (ctx.me && ctx.me.alpha[s.id]) || 0;
    r.cells.name.textContent = s.name;
    r.cells.name.setAttribute("aria-label", `${s.name}: show details and trade`);
    r.cells.price.textContent = fmt(s.price);
    replace(r.cells.change, changeNode(priceChange(ctx.history, s.id, 3 * tpe)));
    r.cells.share.textContent = pct(s.share);
    r.cells.mine.textContent = held > 0 ? fmt(held, 3) : "–";
    r.cells.yld.textContent = yieldText(s);
    r.tr.classList.toggle("mine", held > 0 || (ctx.me && ctx.me.subnet === s.id));
    r.tr.classList.toggle("selected", ctx.selected === s.id);
    r.tr.setAttribute("aria-current", ctx.selected === s.id ? "true" : "false");
  }
  for (const [id, r] of rows) if (!seen.has(id)) { r.tr.remove(); rows.delete(id); }
}

/** Alpha paid per alpha held per epoch: last epoch's (holders' incentive + alpha stakers'
 *  dividends) / alpha outstanding; before any epoch, the per-block split of docs/mechanism.md:
 *  alpha stakers get (1 − c)/2 × (1 − ρ) of each block's alpha, holders another (1 − c)/2 on a
 *  hold-to-earn subnet. */
function yieldInfo(s) {
  if (!(s.alpha_out > 0)) return { value: undefined };
  const inc = s.incentive;
  if (isNum(s.alpha_dividends) && inc) {
    return { value: ((inc.holders || 0) + s.alpha_dividends) / s.alpha_out, estimated: false };
  }
  const half = (1 - ctx.params.owner_cut) / 2;
  const perBlock = half * (1 - (s.root_prop || 0)) + (s.mechanism === "hold_to_earn" ? half : 0);
  if (!(ctx.blocksPerEpoch > 0)) return { value: undefined };
  return { value: (perBlock * ctx.blocksPerEpoch) / s.alpha_out, estimated: true };
}
function yieldOf(s) { return yieldInfo(s).value; }
function yieldText(s) {
  const y = yieldInfo(s);
  return isNum(y.value) ? (y.estimated ? "≈" : "") + pct(y.value, 2) : "–";
}

function select(id, scroll) {
  ctx.selected = id;
  $("#trade-subnet").value = String(id);
  renderMarket();
  renderDetail();
  requoteSoon();
  if (scroll) $("#detail-card").scrollIntoView({ behavior: "smooth", block: "start" });
}

// --- selected subnet detail (every number explained) ------------------------------------------

const dt = {};
function buildDetail() {
  const host = $("#detail-explain");
  const sel = () => ctx.byId.get(ctx.selected) || {};
  dt.price = figure("Price (τ per α)", () => explainPrice(sel())(), host);
  dt.share = figure("Emission share", () => explainShare(sel(), ctx.subnets, ctx.params.rules)(), host);
  dt.rho = figure("Root proportion ρ", () => explainRho(sel(), ctx.rootStake, ctx.params.tao_weight)(), host);
  dt.div = figure("Dividend yield / epoch", () => explainDividend({ ...sel(), dividend_yield: yieldOf(sel()) }, ctx.me && ctx.me.alpha[ctx.selected], ctx.params.owner_cut, sel().root_prop)(), host);
  dt.mine = figure("You hold");
  dt.mech = figure("Mechanism");
  $("#detail").append(dt.price.node, dt.share.node, dt.rho.node, dt.div.node, dt.mine.node, dt.mech.node);
}

const MECH = { ai_work: "AI work", hold_to_earn: "Hold-to-earn", owner_mined: "Owner-mined" };
let detailChart = null;
function renderDetailChart(s) {
  if (!window.Chart) return;
  if (!detailChart) {
    detailChart = new LinesChart($("#detail-chart"), {
      series: [{ label: "price", style: 0 }, { label: "moving price", style: 1 }],
      yLabel: "τ per α", yFormat: (v) => fmt(v, 4), ariaLabel: "Spot and moving price of the selected subnet over ticks",
    });
  }
  const rows = ctx.history.slice(-240);
  const pick = (r, k) => { const x = (r.subnets || []).find((t) => t.id === s.id); return x && isNum(x[k]) ? x[k] : null; };
  detailChart.update(rows.map((r) => r.tick), [rows.map((r) => pick(r, "price")), rows.map((r) => pick(r, "moving_price"))]);
}

function renderDetail() {
  const s = ctx.byId.get(ctx.selected);
  if (!s) return;
  renderDetailChart(s);
  $("#detail-h").textContent = s.name;
  dt.price.set(fmt(s.price, 6));
  dt.share.set(pct(s.share, 2));
  dt.rho.set(pct(s.root_prop, 1));
  dt.div.set(yieldText(s));
  const held = (ctx.me && ctx.me.alpha[s.id]) || 0;
  dt.mine.set(alpha(held));
  dt.mech.set(MECH[s.mechanism] || s.mechanism || "–");
}

// --- trade panel ----------------------------------------------------------------------------

let quoteTimer = null;
let quoteSerial = 0;
let lastQuote = null;
let quoteExplain = null;
let quoteRefusal = null; // the reason the current quote says the order would be refused

function side() { return (document.querySelector("#trade-side input:checked") || {}).value || "stake"; }

function buildTrade() {
  quoteExplain = new Explain("the slippage", () => {
    const s = ctx.byId.get(Number($("#trade-subnet").value));
    return explainQuote(lastQuote, s, side() === "stake" ? "stake" : "unstake", parseAmount($("#trade-amount").value), ctx.params.stake_fee)();
  }, { block: true });
  quoteExplain.value.textContent = "How is slippage computed?";
  quoteExplain.value.className = "muted";
  $("#quote-explain").append(quoteExplain.node);

  $all("#trade-side input").forEach((r) => r.addEventListener("change", () => { syncTradeLabels(); requoteSoon(); }));
  $("#trade-subnet").addEventListener("change", () => select(Number($("#trade-subnet").value), false));
  $("#trade-to").addEventListener("change", requoteSoon);
  $("#trade-amount").addEventListener("input", requoteSoon);
  $("#trade-limit").addEventListener("input", requoteSoon);
  $("#trade-limit-on").addEventListener("change", () => {
    $("#trade-limit-field").hidden = !$("#trade-limit-on").checked;
    if ($("#trade-limit-on").checked && !$("#trade-limit").value) {
      const s = ctx.byId.get(Number($("#trade-subnet").value));
      if (s && isNum(s.price)) $("#trade-limit").value = String(Number(s.price.toPrecision(4)));
    }
    requoteSoon();
  });
  $("#trade-max").addEventListener("click", () => {
    const me = ctx.me || {};
    const sid = Number($("#trade-subnet").value);
    const v = side() === "stake" ? Math.max(0, (me.tao || 0) - ctx.params.stake_fee * 2) : (me.alpha || {})[sid] || 0;
    // Rounded down: an amount rounded up past the holding would be refused at the tick.
    $("#trade-amount").value = floorAmount(v);
    requoteSoon();
  });
  $("#trade-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const cmd = tradeCommand();
    if (!cmd.ok) { showQuoteError(cmd.error); return; }
    sendCommand(cmd.cmd, $("#trade-submit"), cmd.label).then((ok) => { if (ok !== false) { $("#trade-amount").value = ""; renderQuote(null); } });
  });
  syncTradeLabels();
}

function syncTradeLabels() {
  const sd = side();
  const me = ctx.me || {};
  $("#trade-to-field").hidden = sd !== "move";
  $("#trade-limit-check").hidden = sd === "move";
  if (sd === "move") $("#trade-limit-field").hidden = true;
  else $("#trade-limit-field").hidden = !$("#trade-limit-on").checked;
  $("#trade-subnet-label").textContent = sd === "move" ? "Move from subnet" : "Subnet";
  $("#trade-amount-label").textContent = sd === "stake" ? "TAO to spend" : "Alpha to " + (sd === "move" ? "move" : "sell");
  // A quote that says the order would be refused: the button says why and cannot be pressed.
  const submit = $("#trade-submit");
  submit.textContent = quoteRefusal ? `Refused: ${quoteRefusal}` : sd === "stake" ? "Buy alpha" : sd === "unstake" ? "Sell alpha" : "Move stake";
  if (submit.dataset.busy !== "1") submit.disabled = !!quoteRefusal;
  submit.classList.toggle("refused", !!quoteRefusal);
  const sid = Number($("#trade-subnet").value);
  $("#trade-avail").textContent = sd === "stake" ? `Available: ${tao(me.tao)}` : `You hold ${alpha((me.alpha || {})[sid] || 0)} here`;
}

function fillSubnetSelects() {
  for (const selId of ["#trade-subnet", "#trade-to"]) {
    const sel = $(selId);
    const cur = sel.value;
    const want = ctx.subnets.map((s) => `${s.id}:${s.name}`).join("|");
    if (sel.dataset.sig !== want) {
      replace(sel, ...ctx.subnets.map((s) => el("option", { value: s.id }, `${s.name}`)));
      sel.dataset.sig = want;
      if (cur) sel.value = cur;
    }
  }
  if (ctx.selected !== null) $("#trade-subnet").value = String(ctx.selected);
  if (!$("#trade-to").value || $("#trade-to").value === $("#trade-subnet").value) {
    const other = ctx.subnets.find((s) => s.id !== ctx.selected);
    if (other) $("#trade-to").value = String(other.id);
  }
}

function tradeCommand() {
  const sd = side();
  const sid = Number($("#trade-subnet").value);
  const amount = parseAmount($("#trade-amount").value);
  if (!(amount > 0)) return { ok: false, error: "Enter an amount greater than 0 (digits and a decimal point)." };
  let limit = null;
  if (sd !== "move" && $("#trade-limit-on").checked) {
    limit = parseAmount($("#trade-limit").value);
    if (!(limit > 0)) return { ok: false, error: "Enter a limit price greater than 0, or untick the limit." };
  }
  if (sd === "stake") return { ok: true, cmd: { do: "stake", subnet: sid, tao: amount, ...(limit ? { limit_price: limit } : {}) }, label: "Buy order placed" };
  if (sd === "unstake") return { ok: true, cmd: { do: "unstake", subnet: sid, alpha: amount, ...(limit ? { limit_price: limit } : {}) }, label: "Sell order placed" };
  const to = Number($("#trade-to").value);
  if (to === sid) return { ok: false, error: "Pick a different subnet to move to." };
  return { ok: true, cmd: { do: "move", from: sid, to, alpha: amount }, label: "Move order placed" };
}

export function requoteSoon() {
  quoteRefusal = null; // the inputs changed: that answer no longer applies
  syncTradeLabels();
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(doQuote, 250);
}

async function doQuote() {
  const c = tradeCommand();
  if (!c.ok) { renderQuote(null); return; }
  if (!ctx.game || (ctx.game.status !== "running" && ctx.game.status !== "paused")) { renderQuote(null); return; }
  if (sock.state !== "live") { showQuoteError("No quote while disconnected. You can still place the order: it is sent when the connection is back."); return; }
  const serial = ++quoteSerial;
  try {
    const r = await requestQuote(c.cmd);
    if (serial !== quoteSerial) return;
    lastQuote = r.quote;
    renderQuote(r.quote, c.cmd);
  } catch (err) {
    if (serial !== quoteSerial || err.code === "resync") return;
    showQuoteError(reasonText(err.code) || err.message || "No quote");
  }
}

function showQuoteError(text) {
  replace($("#quote"), el("p", { class: "bad" }, "✕ " + text));
}

/** Read a sim quote whatever its exact field names (it passes the sim's answer through). */
export function readQuote(q, cmd) {
  const pick = (...ks) => { for (const k of ks) if (isNum(q[k])) return q[k]; return undefined; };
  const buying = cmd.do === "stake" || cmd.do === "buyback";
  if (cmd.do === "move") {
    return { out: pick("alpha_received"), fee: pick("fee"), status: q.status, reason: q.reason, mid: pick("tao") };
  }
  const out = buying ? pick("alpha_out", "alpha", "received") : pick("tao_out", "tao", "received");
  const spent = buying ? (cmd.tao) : (cmd.alpha);
  let avg = pick("avg_price", "average_price", "avg");
  if (!isNum(avg) && isNum(out) && out > 0) avg = buying ? spent / out : out / spent;
  const before = pick("price_before", "spot_before");
  const after = pick("price_after", "spot_after");
  let impact = pick("impact", "price_impact", "slippage");
  if (!isNum(impact) && isNum(before) && isNum(after) && before > 0) impact = after / before - 1;
  return { out, avg, impact, fee: pick("fee", "fees"), before, after, status: q.status, reason: q.reason, buying };
}

function renderQuote(q, cmd) {
  const box = $("#quote");
  if (!q) {
    replace(box, el("p", { class: "muted" }, "Enter an amount to see what you would get."));
    if (quoteRefusal) { quoteRefusal = null; syncTradeLabels(); }
    quoteExplain.refresh();
    return;
  }
  const r = readQuote(q, cmd);
  if (r.status === "rejected") {
    replace(box, el("p", { class: "bad" }, "✕ This would be refused: " + reasonText(r.reason)));
    quoteRefusal = reasonText(r.reason) || "refused";
    syncTradeLabels();
    quoteExplain.refresh();
    return;
  }
  if (quoteRefusal) { quoteRefusal = null; syncTradeLabels(); }
  const exact = (v, unit) => (isNum(v) ? fmt(v, 6) + " " + unit : "–");
  const outText = cmd.do === "unstake" ? exact(r.out, "τ") : exact(r.out, "α");
  if (cmd.do === "move") {
    replace(box, el("dl", {},
      el("dt", {}, "You get"), el("dd", { id: "quote-out" }, outText),
      el("dt", {}, "TAO in between"), el("dd", {}, tao(r.mid)),
      el("dt", {}, "Fees (two swaps)"), el("dd", {}, tao(r.fee))));
    quoteExplain.refresh();
    return;
  }
  replace(box, el("dl", {},
    el("dt", {}, "You get"), el("dd", { id: "quote-out" }, outText),
    el("dt", {}, "Average price"), el("dd", {}, isNum(r.avg) ? fmt(r.avg, 6) + " τ/α" : "–"),
    el("dt", {}, "Price impact"), el("dd", { class: Math.abs(r.impact || 0) > 0.05 ? "bad" : "" }, isNum(r.impact) ? (r.impact > 0 ? "+" : "") + pct(r.impact, 2) : "–"),
    el("dt", {}, "Fee"), el("dd", {}, tao(r.fee)),
  ));
  quoteExplain.refresh();
}

// --- root staking -----------------------------------------------------------------------------

const NETWORK = "network";

/** A root validator's name as the page shows it (text only: nicknames are never markup). */
function validatorName(id) {
  if (!id || id === NETWORK) return "the network's validator";
  const v = ctx.rootValidators.find((x) => x.id === id);
  return v ? v.nickname : id;
}

function buildRoot() {
  $("#root-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const btn = ev.submitter || $("#root-stake");
    const amount = parseAmount($("#root-amount").value);
    if (!(amount > 0)) { toast("Enter a TAO amount greater than 0.", "error", 5000, btn); return; }
    const what = btn.dataset.do;
    const cmd = { do: what, tao: amount };
    // Staking goes to the chosen validator; unstaking takes from wherever the stake sits.
    const v = $("#root-validator").value;
    if (what === "root_stake" && v && v !== NETWORK) cmd.validator = v;
    const label = what === "root_stake" ? `Root stake with ${validatorName(v)} placed` : "Root unstake order placed";
    sendCommand(cmd, btn, label).then((ok) => { if (ok !== false) $("#root-amount").value = ""; });
  });
}

function renderRoot() {
  const me = ctx.me || {};
  const sel = $("#root-validator");
  const options = [{ id: NETWORK, text: "The network's validator" }].concat(
    ctx.rootValidators.map((v) => ({ id: v.id, text: `${v.nickname} (${tao(v.stake)} on root)` })));
  const sig = JSON.stringify(options);
  if (sel.dataset.sig !== sig && document.activeElement !== sel) {
    const keep = sel.value;
    replace(sel, ...options.map((o) => el("option", { value: o.id }, o.text)));
    sel.dataset.sig = sig;
    if (keep && options.some((o) => o.id === keep)) sel.value = keep;
  }
  // Root stake sits with one validator at a time: while some is left, more goes to the same one.
  const current = me.root_stake > 0 ? (me.validator || NETWORK) : null;
  if (current !== null && options.some((o) => o.id === current)) sel.value = current;
  sel.disabled = current !== null;
  $("#root-validator-help").textContent = current !== null
    ? `Your root stake is with ${validatorName(current)}. To choose another validator, unstake it all first.`
    : "A player validator keeps its take of your dividends; its weights decide how its stake votes.";
  $("#root-avail").textContent = `Free: ${tao(me.tao)} · on root: ${tao(me.root_stake)}` +
    (me.root_stake > 0 ? ` with ${validatorName(current)}` : "");
  $("#root-div-received").textContent = tao(me.root_dividends);
}

// --- orders -----------------------------------------------------------------------------------

export function renderOrders() {
  const pendingUl = $("#orders-pending");
  const doneUl = $("#orders-done");
  const sending = [];
  for (const p of sock.pending.values()) if (p.msg.type === "command") sending.push(p.msg);
  const queued = store.queued();
  const items = [];
  for (const m of sending) items.push(el("li", {}, el("span", { class: "pill" }, "sending…"), " ", describeCommand(m, ctx)));
  for (const c of queued) {
    const cancel = el("button", { type: "button", class: "btn small danger", "aria-label": "Cancel " + describeCommand(c, ctx) }, "Cancel");
    cancel.addEventListener("click", () => once(cancel, async () => {
      try { await sock.command({ type: "cancel", id: "x-" + newClientId().slice(0, 24), command: c.id }); toast("Order cancelled", "ok", 5000, $("#orders-pending")); }
      catch (err) { toast("Could not cancel: " + reasonText(err.code), "error", 5000, $("#orders-pending")); }
      renderOrders();
    }));
    items.push(el("li", { "data-status": "queued" }, el("span", { class: "pill" }, "queued"), " ", describeCommand(c, ctx), isNum(c.due_tick) ? ` · tick ${c.due_tick} ` : " ", cancel));
  }
  replace(pendingUl, ...(items.length ? items : [el("li", { class: "muted" }, "None.")]));
  const done = S().commands.filter((c) => c.status && c.status !== "queued").slice(-6).reverse();
  replace(doneUl, ...(done.length ? done.map((c) => {
    const ok = c.status === "filled";
    return el("li", { "data-status": c.status },
      el("span", { class: "pill " + (ok ? "good" : "bad") }, ok ? "✓ filled" : c.status === "cancelled" ? "cancelled" : "✕ refused"), " ",
      describeCommand(c, ctx),
      c.actor === "bot" ? " (by your stand-in bot)" : "",
      !ok && c.reason && c.status !== "cancelled" ? ` — ${reasonText(c.reason)}` : "",
      ok && c.fill ? fillText(c) : "");
  }) : [el("li", { class: "muted" }, "None yet.")]));
}

function fillText(c) {
  const f = c.fill || {};
  if (c.do === "stake" && isNum(f.alpha)) return ` → got ${alpha(f.alpha)}`;
  if (c.do === "unstake" && isNum(f.tao)) return ` → got ${tao(f.tao)}`;
  if (c.do === "move" && isNum(f.alpha)) return ` → ${alpha(f.alpha)}`;
  return "";
}

// --- page state -------------------------------------------------------------------------------

let rolePanel = null;
function ensureRolePanel() {
  const role = S().you && S().you.role;
  if (!role || (rolePanel && rolePanel.role === role)) return;
  const host = $("#role-panel");
  replace(host);
  rolePanel = null;
  const api = { ctx, store, sock, sendCommand, requestQuote, readQuote, host };
  if (role === "subnet_owner") rolePanel = buildOwnerPanel(api);
  else if (role === "root_validator") rolePanel = buildValidatorPanel(api);
  if (rolePanel) rolePanel.role = role;
  else rolePanel = { role, render() {} };
  // Root staking is the validator's own panel's job; others keep the generic card.
  $("#root-card").hidden = role === "root_validator";
}

let drawClock = () => {};
const news = new NewsBanner(undefined, (id) => subnetNameOf(S().market)(id));

function renderStarting() {
  const st = S();
  const g = st.game || {};
  const you = st.you || {};
  const left = secondsToTick(g);
  $("#starting-text").textContent = g.status === "paused" ? "The teacher paused the game before the first tick: the first prices come when it resumes."
    : `First prices in ${left ?? "a few"} s.`;
  $("#starting-role").textContent = ROLE_TEXT[you.role] || "being dealt";
  $("#starting-help").textContent = ROLE_HELP[you.role] || "";
}

function renderAll() {
  const st = S();
  drawClock();
  rebuildCtx();
  const g = st.game || {};
  const you = st.you || {};
  $("#me-nick").textContent = you.nickname || $("#me-nick").textContent;
  $("#me-role").textContent = ROLE_TEXT[you.role] || "no role yet";
  $("#game-status").textContent = { lobby: "Lobby", running: "Running", paused: "Paused ⏸", ended: "Ended" }[g.status] || "…";
  const inLobby = g.status === "lobby";
  const ended = g.status === "ended";
  $("#lobby-view").hidden = !inLobby;
  $("#lobby-role").textContent = ROLE_TEXT[you.role] || "not assigned yet (the instructor deals roles)";
  $("#lobby-count").textContent = String(st.players || st.lobby.length || 0);
  $("#lobby-help").textContent = ROLE_HELP[you.role] || "";
  if (inLobby) replace($("#lobby-names"), ...(st.lobby || []).slice(-60).map((p) => el("li", {}, p.nickname)));
  $("#how-role").textContent = (ROLE_TEXT[you.role] || "a player").toLowerCase();
  $("#how-text").textContent = ROLE_HELP[you.role] || "";
  // Between Start and the first tick there are no prices yet: a first screen, not an empty page.
  const starting = (g.status === "running" || g.status === "paused") && !st.market;
  $("#starting-view").hidden = !starting;
  if (starting) renderStarting();
  $("#pause-overlay").hidden = g.status !== "paused";
  news.update(g);
  $("#ended-view").hidden = !ended;
  document.body.classList.toggle("ended", ended);
  if (ended) {
    const me = ctx.me || {};
    // A game ended from the lobby has no results and no report.
    $("#ended-summary").textContent = !g.started ? "The teacher ended the game before it started: there are no results."
      : ctx.me ? `Final net worth ${tao(me.net_worth)}` + (isNum(st.rank) ? `, rank ${rankText(st.rank, st.rankOf)}.` : ".") : "";
    $("#report-link").hidden = !g.started || !ctx.me;
  }
  $("#game-view").hidden = inLobby || !st.market;
  if (inLobby || !st.market) return;
  ensureRolePanel();
  fillSubnetSelects();
  renderPortfolio();
  renderMarket();
  renderDetail();
  renderRoot();
  renderOrders();
  syncTradeLabels();
  if (rolePanel) rolePanel.render();
  if (you.active === false) $("#game-status").textContent += " · joining at next tick";
}

function rememberSeat() {
  // Lets the join page offer "continue as …" if the seat cookie is lost (see join.js).
  if (!boot.token) return;
  try { localStorage.setItem("seat:" + boot.code, JSON.stringify({ token: boot.token, nickname: boot.nickname })); } catch (e) { /* private mode */ }
}

function start() {
  rememberSeat();
  // Read-only handle for debugging in the browser console (and the browser tests).
  window.dtao = { sock, store };
  bindConnectionPill($("#conn"), sock, $("#conn-bar"));
  buildPortfolio();
  buildDetail();
  buildTrade();
  buildRoot();
  drawClock = startClock($("#clock"), () => S().game);
  $("#news-close").addEventListener("click", () => { $("#news").hidden = true; });

  sock.addEventListener("snapshot", (e) => store.apply(e.detail));
  sock.addEventListener("message", (e) => store.apply(e.detail));
  sock.addEventListener("pending", () => renderOrders());
  sock.addEventListener("state", (e) => { if (e.detail.state === "live" && $("#trade-amount").value) requoteSoon(); });
  sock.addEventListener("fatal", (e) => {
    const box = $("#fatal");
    box.hidden = false;
    const text = CLOSE_TEXT[e.detail.code] || "The connection was closed.";
    if (e.detail.code === 4011) {
      // Only on the student's say-so: an automatic reconnect would fight the other tab.
      const here = el("button", { type: "button", class: "btn small" }, "Play here instead");
      here.addEventListener("click", () => { box.hidden = true; sock.connect(); });
      replace(box, text, " ", here);
      return;
    }
    replace(box, text, " ", el("a", { href: "/join/" + encodeURIComponent(boot.code) }, "Go to the join page"));
  });
  store.addEventListener("change", (e) => {
    renderAll();
    if (e.detail.type === "tick" && ctx.game && $("#trade-amount").value) requoteSoon();
  });
  store.addEventListener("tick", (e) => { for (const ev of e.detail.events) news.show(ev, S().game); });
  // The first screen's countdown, between renders.
  setInterval(() => { if (!$("#starting-view").hidden) renderStarting(); }, 1000);
  $("#away-ok").addEventListener("click", () => { $("#away-note").hidden = true; });
  store.addEventListener("private", (e) => {
    const away = e.detail.whileAway;
    if (away) {
      // The stand-in held the seat: say what happened meanwhile (the server's figures).
      const orders = away.orders === 0 ? "nothing was bought or sold for you"
        : `${away.orders} order${away.orders === 1 ? " was" : "s were"} placed for you`;
      $("#away-text").textContent = `Welcome back. While you were away (ticks ${away.from_tick}–${away.to_tick - 1}) your seat was held: ${orders}, and your mechanism, weights and validator were left as you set them. Your net worth went from ${tao(away.net_worth_before)} to ${tao(away.net_worth_now)} (prices and income).`;
      $("#away-note").hidden = false;
    }
    for (const f of e.detail.fills) {
      // Next to the trade button the student just used (or the orders list when it is hidden).
      const near = $("#trade-card").offsetParent !== null ? $("#trade-submit") : $("#orders-done");
      if (f.status === "rejected") toast(`Refused: ${describeCommand(f, ctx)} — ${reasonText(f.reason)}`, "error", 7000, near);
      else if (f.status === "filled" && f.actor !== "bot") toast(`Filled: ${describeCommand(f, ctx)}${fillText(f)}`, "ok", 5000, near);
    }
  });
  sock.connect();
}

start();
