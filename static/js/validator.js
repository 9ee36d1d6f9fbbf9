// Root validator's panel: root stake, ρ on each subnet, dividends, per-subnet weights, what
// consensus is and whether this validator's weight would decide it.

import { el, $, replace, fmt, tao, alpha, pct, isNum, figure, Explain, parseAmount, toast } from "./ui.js";
import { explainRho } from "./explain.js";
import { MECHANISM_TEXT } from "./protocol.js";

// The weight choices a root validator can make on a subnet ("custom validator code").
export const CHOICES = [
  { value: "follow", text: "Follow the subnet's mechanism", weights: null },
  { value: "workers", text: "Pay the AI workers", weights: { workers: 1 } },
  { value: "holders", text: "Pay the holders", weights: { holders: 1 } },
  { value: "owner", text: "Pay the owner's miners", weights: { owner: 1 } },
  // All-zero weights: custom validator code that rewards no miner.
  { value: "none", text: "Pay no one", weights: { workers: 0, holders: 0, owner: 0 } },
];

function choiceOf(w) {
  if (w === null || w === undefined) return "follow";
  const v = { workers: w.workers || 0, holders: w.holders || 0, owner: w.owner || 0 };
  const tot = v.workers + v.holders + v.owner;
  if (tot <= 0) return "none";
  const top = Object.entries(v).sort((a, b) => b[1] - a[1])[0][0];
  return top;
}

// The miner class a weight choice pays ("follow" pays what the subnet's mechanism pays).
const MECHANISM_PAYS = { ai_work: "workers", hold_to_earn: "holders", owner_mined: "owner" };

/** The class consensus paid most last epoch, or null before the first epoch. */
function consensusClass(s) {
  const inc = s.incentive;
  if (!inc) return null;
  const top = Object.entries({ workers: inc.workers || 0, holders: inc.holders || 0, owner: inc.owner || 0 })
    .sort((a, b) => b[1] - a[1])[0];
  return top[1] > 0 ? top[0] : "none";
}

function consensusText(s) {
  const inc = s.incentive;
  if (!inc) return `follows ${MECHANISM_TEXT[s.mechanism] || s.mechanism || "–"} (no epoch paid yet)`;
  const tot = (inc.workers || 0) + (inc.holders || 0) + (inc.owner || 0);
  if (!(tot > 0)) return "paid no miner last epoch";
  const parts = [["workers", inc.workers], ["holders", inc.holders], ["owner", inc.owner]]
    .filter(([, v]) => v > 0).map(([k, v]) => `${k} ${pct(v / tot, 0)}`);
  return "last epoch paid " + parts.join(", ");
}

export function buildValidatorPanel(api) {
  const { ctx, host, sendCommand } = api;
  const myRoot = () => {
    const me = ctx.me || {};
    return (me.root_stake || 0) + (isNum(me.nominated) ? me.nominated : 0);
  };
  const seatedOn = (seats, s) => seats === null || seats === undefined || seats.includes(s.id);
  const weightOf = (stake, s) => {
    const R = ctx.rootStake || 0;
    const w = ctx.params.tao_weight;
    const A = (s.alpha || 0) + (s.alpha_out || 0);
    const denom = w * R + A;
    return denom > 0 ? (w * stake) / denom : 0;
  };
  // Your stake counts on a subnet only where you hold a seat (sim/epoch.py: root seats).
  const myWeightOn = (s) => (seatedOn((ctx.me || {}).root_seats, s) ? weightOf(myRoot(), s) : 0);
  // Every root validator seated on the subnet, you included: what the class can decide together.
  const seatedHere = (s) => ctx.rootValidators.filter((v) => seatedOn(v.seats, s));

  // What you keep of root's dividends: your own stake's part plus your take of your
  // nominators' part (docs/mechanism.md: a validator keeps its take, the rest goes to nominators).
  const myKeep = () => {
    const me = ctx.me || {};
    return (me.root_stake || 0) + (ctx.params.validator_take || 0) * (isNum(me.nominated) ? me.nominated : 0);
  };
  const rootDividendEstimate = () => {
    const R = ctx.rootStake || 0;
    if (!(R > 0)) return undefined;
    const per = ctx.subnets.reduce((a, s) => a + (s.root_prop || 0) * (s.price || 0), 0);
    return per * ((1 - ctx.params.owner_cut) / 2) * (ctx.blocksPerEpoch || 0) * (myKeep() / R);
  };
  // The real totals, from the server: root dividends credited to you so far.
  const alphaParts = () => Object.entries((ctx.me || {}).root_dividends_alpha || {})
    .filter(([, a]) => a > 0)
    .map(([sid, a]) => [ctx.byId.has(Number(sid)) ? ctx.byId.get(Number(sid)).name : "SN" + sid, a]);

  // Figures
  const explainHost = el("div");
  const f = {
    root: figure("Your root stake"),
    free: figure("Free TAO"),
    got: figure("Root dividends received", () => ({
      title: "Root dividends received so far",
      formula: "each epoch, on each subnet: root's pot × your validator's dividend share × (your stake + take × nominated) / all stake with it",
      inputs: [
        ["in TAO", tao((ctx.me || {}).root_dividends)],
        ...alphaParts().map(([name, a]) => [`in alpha on ${name}`, alpha(a)]),
        ["your root stake", tao((ctx.me || {}).root_stake)],
        ["nominated to you", tao((ctx.me || {}).nominated)],
        ["your take", pct(ctx.params.validator_take, 0)],
      ],
      result: tao((ctx.me || {}).root_dividends) + " received",
      note: "What the game credited to you at each epoch's end (and a pruned subnet's pot). Root's alpha is sold every block for TAO; alpha appears where root is paid in alpha (root claims kept, or a subnet whose consensus paid no miner).",
    }), explainHost),
    div: figure("Next epoch (estimate)", () => ({
      title: "Root dividends: an estimate for the coming epoch",
      formula: "≈ Σ over subnets: ρ_i × (1 − c)/2 × blocks per epoch × price_i  ×  (your stake + take × nominated) / R",
      inputs: [
        ["(1 − c)/2 (validators' half)", fmt((1 - ctx.params.owner_cut) / 2)],
        ["blocks per epoch", fmt(ctx.blocksPerEpoch)],
        ["Σ ρ_i × price_i", fmt(ctx.subnets.reduce((a, s) => a + (s.root_prop || 0) * (s.price || 0), 0), 6)],
        ["your stake + take × nominated", tao(myKeep())], ["all root R", tao(ctx.rootStake)],
        ["your fraction", ctx.rootStake > 0 ? pct(myKeep() / ctx.rootStake, 3) : "–"],
      ],
      result: "≈ " + tao(rootDividendEstimate()) + " (estimate)",
      note: "An estimate from the formula, not a payment: root's alpha is sold into each pool every block (constant sell pressure), so the TAO you get is a little less than price × alpha, and consensus may pay differently. As alpha accumulates, ρ falls and so does root's part. The real amounts are in \"Root dividends received\".",
    }), explainHost),
    share: figure("Your share of all root", null),
  };
  const card = el("section", { class: "card", "aria-labelledby": "val-h" },
    el("h2", { id: "val-h" }, "Your root validator"),
    el("div", { class: "figures" }, ...Object.values(f).map((x) => x.node)), explainHost);

  // Root stake form
  const amt = el("input", { id: "val-root-amount", inputmode: "decimal", autocomplete: "off" });
  const stakeBtn = el("button", { type: "submit", class: "btn primary", "data-do": "root_stake" }, "Add root stake");
  const unstakeBtn = el("button", { type: "submit", class: "btn", "data-do": "root_unstake" }, "Remove root stake");
  const form = el("form", { class: "stack", novalidate: true },
    el("div", { class: "field" }, el("label", { for: "val-root-amount" }, "TAO amount"), amt),
    el("div", { class: "btn-row" }, stakeBtn, unstakeBtn));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const btn = ev.submitter || stakeBtn;
    const a = parseAmount(amt.value);
    if (!(a > 0)) { toast("Enter a TAO amount greater than 0.", "error"); return; }
    sendCommand({ do: btn.dataset.do, tao: a }, btn, btn.textContent + " placed").then((ok) => { if (ok !== false) amt.value = ""; });
  });
  card.append(el("h3", {}, "Change your root stake"), form);

  // Weights: one block per subnet
  const list = el("ul", { class: "wlist", id: "weights" });
  const weightsCard = el("section", { class: "card", "aria-labelledby": "w-h" },
    el("h2", { id: "w-h" }, "Weights per subnet"),
    el("p", { class: "muted" }, "Consensus is the stake-weighted median: whoever holds more than half the validator weight on a subnet decides what its miners earn. Your weight there is ρ × your share of all root stake."),
    el("div", { id: "w-explain" }), list);
  const wExplainHost = $("#w-explain", weightsCard);
  host.append(card, weightsCard);

  const rows = new Map();
  function row(s) {
    let r = rows.get(s.id);
    if (r) return r;
    const rhoEx = new Explain("ρ on " + s.name, () => explainRho(ctx.byId.get(s.id) || s, ctx.rootStake, ctx.params.tao_weight)(), { host: wExplainHost });
    const sel = el("select", { id: `w-sel-${s.id}` },
      ...CHOICES.map((c) => el("option", { value: c.value, disabled: !!c.disabled }, c.text)));
    const btn = el("button", { type: "button", class: "btn primary", "aria-label": `Set weights on ${s.name}` }, "Set");
    btn.addEventListener("click", () => {
      const c = CHOICES.find((x) => x.value === sel.value);
      sel.dataset.touched = "1";
      sendCommand({ do: "set_weights", subnet: s.id, weights: c.weights }, btn, `Weights on ${s.name}: ${c.text}`);
    });
    const seatBtn = el("button", { type: "button", class: "btn small" });
    seatBtn.addEventListener("click", () => {
      const leaving = seatBtn.dataset.do === "root_deregister";
      sendCommand({ do: seatBtn.dataset.do, subnet: s.id }, seatBtn,
        leaving ? `You give up your seat on ${s.name}` : `You take a seat on ${s.name}`);
    });
    const cells = {
      name: el("span", { class: "wname" }), seat: el("p", { class: "wline wseat" }),
      mine: el("p", { class: "wline" }), together: el("p", { class: "wline" }),
      cons: el("p", { class: "wline" }), agree: el("p", { class: "wline" }),
      now: el("p", { class: "wline wnow" }),
    };
    const li = el("li", { class: "wrow", "data-subnet": s.id },
      el("div", { class: "whead" }, cells.name, el("span", {}, "ρ ", rhoEx.node)),
      el("div", { class: "row" }, cells.seat, seatBtn),
      cells.mine, cells.together, cells.cons, cells.agree, cells.now,
      el("label", { for: `w-sel-${s.id}`, class: "sr-only" }, `Your weights on ${s.name}`),
      el("div", { class: "row" }, sel, btn));
    list.appendChild(li);
    r = { tr: li, cells, rhoEx, sel, seatBtn };
    rows.set(s.id, r);
    return r;
  }

  function render() {
    const me = ctx.me || {};
    f.root.set(tao(me.root_stake));
    f.free.set(tao(me.tao));
    const parts = alphaParts();
    f.got.set(el("span", {}, el("span", { class: "real", id: "root-div-total" }, tao(me.root_dividends)),
      parts.length ? [el("small", {}, "+ " + parts.map(([name, a]) => `${alpha(a)} on ${name}`).join(", "))] : null));
    f.div.set("≈ " + tao(rootDividendEstimate()));
    f.share.set(ctx.rootStake > 0 ? pct(myRoot() / ctx.rootStake, 2) : "–");
    const seen = new Set();
    for (const s of ctx.subnets) {
      seen.add(s.id);
      const r = row(s);
      r.cells.name.textContent = s.name;
      r.rhoEx.set(pct(s.root_prop, 1));
      const seated = seatedOn(me.root_seats, s);
      r.cells.seat.textContent = seated ? "You hold a seat here: your stake votes and earns here."
        : "No seat here: your stake neither votes nor earns on this subnet.";
      r.seatBtn.dataset.do = seated ? "root_deregister" : "root_register";
      r.seatBtn.textContent = seated ? "Give up the seat" : "Take a seat";
      r.seatBtn.setAttribute("aria-label", `${seated ? "Give up your seat" : "Take a seat"} on ${s.name}`);
      const mw = myWeightOn(s);
      const decides = mw > 0.5;
      replace(r.cells.mine, "Your weight ", el("strong", { class: "num" }, pct(mw, 1)), ": ",
        el("span", { class: decides ? "good" : "bad" }, decides ? "✓ you decide consensus alone" : "✕ not enough alone"),
        !decides && s.root_prop > 0.5 ? el("span", { class: "muted" }, " (root together holds " + pct(s.root_prop, 0) + ")") : "");
      // What the class's root validators could decide together by voting the same way.
      const here = seatedHere(s);
      const together = here.reduce((a, v) => a + weightOf(v.stake || 0, s), 0);
      replace(r.cells.together, `The ${here.length} root validator${here.length === 1 ? "" : "s"} seated here hold `,
        el("strong", { class: "num" }, pct(together, 1)), " together: ",
        el("span", { class: together > 0.5 ? "good" : "bad" }, together > 0.5 ? "✓ enough to decide if they agree" : "✕ not enough even together"),
        here.length ? el("span", { class: "muted" }, " (" + here.map((v) => v.nickname).join(", ") + ")") : "");
      r.cells.cons.textContent = "Consensus: " + consensusText(s);
      const mine = (me.weights || {})[s.id] ?? (me.weights || {})[String(s.id)];
      const choice = choiceOf(mine);
      const pays = choice === "follow" ? MECHANISM_PAYS[s.mechanism] : choice;
      const cons = consensusClass(s);
      // Dividends follow agreement with consensus (sim/epoch.py Yuma-lite): say which side you are on.
      r.cells.agree.textContent = !seated || cons === null ? ""
        : pays === cons ? "✓ You vote with consensus: you earn your full dividends here."
          : "✕ You vote against consensus: your dividends here shrink with your disagreement.";
      r.cells.agree.className = "wline " + (!seated || cons === null ? "" : pays === cons ? "good" : "bad");
      const now = CHOICES.find((c) => c.value === choice);
      r.cells.now.textContent = "Your setting now: " + (now ? now.text : "–");
      if (!r.sel.dataset.touched && document.activeElement !== r.sel) r.sel.value = choiceOf(mine);
    }
    for (const [id, r] of rows) if (!seen.has(id)) { r.tr.remove(); rows.delete(id); }
  }
  return { render };
}
