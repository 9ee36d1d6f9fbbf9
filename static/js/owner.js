// Subnet owner's panel: own pool, price, share, owner cut, revenue; choose the mechanism, buy
// back, sell owner alpha, register a new subnet.

import { el, $, replace, fmt, tao, alpha, pct, isNum, figure, parseAmount, toast } from "./ui.js";
import { explainPrice, explainShare, explainRho } from "./explain.js";
import { reasonText, MECHANISM_TEXT } from "./protocol.js";

export function buildOwnerPanel(api) {
  const { ctx, host, sendCommand, requestQuote, readQuote } = api;
  const ownedIds = () => {
    const me = ctx.me || {};
    const ids = new Set();
    if (Array.isArray(me.subnets_owned)) me.subnets_owned.forEach((x) => ids.add(Number(x)));
    if (me.subnet !== undefined && me.subnet !== null) ids.add(Number(me.subnet));
    for (const s of ctx.subnets) if (me.player && s.owner === me.player) ids.add(s.id);
    return [...ids].filter((id) => ctx.byId.has(id));
  };
  let current = null;
  const sub = () => ctx.byId.get(current) || {};
  const cutPerEpoch = () => (ctx.params.owner_cut || 0) * (ctx.blocksPerEpoch || 0);
  // The real total, from the server: alpha paid to you as this subnet's owner cut so far.
  const cutReceived = () => (current !== null ? ((ctx.me || {}).owner_cut || {})[current] : undefined);

  // Own subnet figures
  const explainHost = el("div");
  const f = {
    price: figure("Price (τ per α)", () => explainPrice(sub())(), explainHost),
    share: figure("Emission share", () => explainShare(sub(), ctx.subnets, ctx.params.rules)(), explainHost),
    rho: figure("Root proportion ρ", () => explainRho(sub(), ctx.rootStake, ctx.params.tao_weight)(), explainHost),
    cut: figure("Owner cut received", () => {
      const got = cutReceived();
      return {
        title: "Owner cut received on this subnet",
        formula: "each epoch: owner alpha = c × alpha emitted in the epoch = c × (blocks per epoch × 1 α per block)",
        inputs: [
          ["received so far", alpha(got)],
          ["price now", fmt(sub().price, 6) + " τ/α"],
          ["c (owner cut)", pct(ctx.params.owner_cut, 1)], ["blocks per epoch", fmt(ctx.blocksPerEpoch)],
          ["next epoch (estimate)", "≈ " + alpha(cutPerEpoch())],
        ],
        result: isNum(got) ? `${alpha(got)} received so far (≈ ${tao(got * (sub().price || 0))} at today's price, before slippage)` : "–",
        note: "Paid at each epoch's end, whatever the price: alpha emission per block is fixed (it halves only as issuance grows). What it is worth depends on the price you can sell at. The coming epoch's figure is an estimate from the formula.",
      };
    }, explainHost),
    pool: figure("Pool reserves", () => ({
      title: "Your subnet's pool (constant product)",
      formula: "τ × x = k: buying alpha adds τ and removes x; the price is τ / x",
      inputs: [["τ (TAO in pool)", fmt(sub().tao)], ["x (alpha in pool)", fmt(sub().alpha)], ["alpha outstanding", fmt(sub().alpha_out)]],
      result: `price ${fmt(sub().price, 6)} τ per α`,
      note: "A thin pool moves a lot for a small trade: that is why a pump is cheap and a dump is brutal.",
    }), explainHost),
    revenue: figure("Subnet revenue (τ)"),
    held: figure("Your alpha here"),
  };
  const pick = el("select", { id: "owner-subnet" });
  const pickField = el("div", { class: "field", hidden: true }, el("label", { for: "owner-subnet" }, "Which of your subnets"), pick);
  pick.addEventListener("change", () => { current = Number(pick.value); render(); });
  const none = el("p", { class: "muted", hidden: true }, "You do not own a subnet yet: register one below.");
  const card = el("section", { class: "card", "aria-labelledby": "own-h" },
    el("h2", { id: "own-h" }, "Your subnet"), none, pickField,
    el("div", { class: "figures" }, ...Object.values(f).map((x) => x.node)), explainHost);

  // Mechanism
  const mechSeg = el("div", { class: "seg", id: "mech-seg" },
    ...Object.entries(MECHANISM_TEXT).map(([v, t]) => el("label", {}, el("input", { type: "radio", name: "mechanism", value: v }), el("span", {}, t))));
  const mechBtn = el("button", { type: "submit", class: "btn primary", id: "mech-apply" }, "Apply mechanism");
  const mechNow = el("p", { class: "muted", id: "mech-now" });
  const mechForm = el("form", { class: "stack", novalidate: true },
    el("fieldset", {}, el("legend", {}, "What do your subnet's validators reward?"), mechSeg),
    el("ul", { class: "muted" },
      el("li", {}, "AI work: outside miners do useful work; the subnet earns TAO revenue (buybacks)."),
      el("li", {}, "Hold-to-earn: miners' alpha goes to alpha holders pro rata (the SN28 meme loop)."),
      el("li", {}, "Owner-mined: your own miners take the miner incentive.")),
    mechNow, mechBtn);
  mechForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const chosen = mechForm.querySelector("input[name=mechanism]:checked");
    if (!chosen || current === null) { toast("Pick a mechanism first.", "error"); return; }
    sendCommand({ do: "set_mechanism", subnet: current, mechanism: chosen.value }, mechBtn, "Mechanism change placed");
  });
  const mechCard = el("section", { class: "card", "aria-labelledby": "mech-h" }, el("h2", { id: "mech-h" }, "Mechanism"), mechForm);

  // Buyback and sell owner alpha: amount + live quote + confirm
  function amountForm({ id, label, unit, button, build, hint }) {
    const input = el("input", { id, inputmode: "decimal", autocomplete: "off", "aria-describedby": id + "-help" });
    const help = el("span", { class: "help", id: id + "-help" }, hint);
    const quote = el("div", { class: "quote", "aria-live": "polite" }, el("p", { class: "muted" }, "Enter an amount to see a quote."));
    const btn = el("button", { type: "submit", class: "btn primary" }, button);
    const form = el("form", { class: "stack", novalidate: true },
      el("div", { class: "field" }, el("label", { for: id }, label + " (" + unit + ")"), input, help), quote, btn);
    let timer = null; let serial = 0;
    const requote = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const amt = parseAmount(input.value);
        if (!(amt > 0) || current === null) { replace(quote, el("p", { class: "muted" }, "Enter an amount to see a quote.")); return; }
        const cmd = build(amt);
        const my = ++serial;
        try {
          const r = await requestQuote(cmd);
          if (my !== serial) return;
          const q = readQuote(r.quote || {}, cmd);
          if (q.status === "rejected") { replace(quote, el("p", { class: "bad" }, "✕ Would be refused: " + reasonText(q.reason))); return; }
          replace(quote, el("dl", {},
            el("dt", {}, "You get"), el("dd", {}, cmd.do === "buyback" ? alpha(q.out) : tao(q.out)),
            el("dt", {}, "Average price"), el("dd", {}, isNum(q.avg) ? fmt(q.avg, 6) + " τ/α" : "–"),
            el("dt", {}, "Price impact"), el("dd", {}, isNum(q.impact) ? pct(q.impact, 2) : "–")));
        } catch (err) {
          if (my === serial && err.code !== "resync") replace(quote, el("p", { class: "bad" }, "✕ " + (reasonText(err.code) || "no quote")));
        }
      }, 250);
    };
    input.addEventListener("input", requote);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const amt = parseAmount(input.value);
      if (!(amt > 0) || current === null) { toast("Enter an amount greater than 0.", "error"); return; }
      sendCommand(build(amt), btn, button + " placed").then((ok) => { if (ok !== false) { input.value = ""; requote(); } });
    });
    return { form, requote, help };
  }
  const buyback = amountForm({
    id: "buyback-amount", label: "TAO to spend on buyback", unit: "τ", button: "Buy back",
    hint: "Buys your subnet's alpha with its revenue (or your TAO): the price rises.",
    build: (amt) => ({ do: "buyback", subnet: current, tao: amt }),
  });
  const sell = amountForm({
    id: "sell-owner-amount", label: "Owner alpha to sell", unit: "α", button: "Sell owner alpha",
    hint: "Sells alpha from the owner cut into your pool: you get TAO, the price falls.",
    build: (amt) => ({ do: "unstake", subnet: current, alpha: amt }),
  });
  const actionsCard = el("section", { class: "card", "aria-labelledby": "own-act-h" },
    el("h2", { id: "own-act-h" }, "Buyback and selling"),
    el("h3", {}, "Buyback"), buyback.form, el("h3", {}, "Sell owner alpha"), sell.form);

  // Register a subnet
  const regName = el("input", { id: "reg-name", maxlength: "40", autocomplete: "off" });
  const regMech = el("select", { id: "reg-mech" }, ...Object.entries(MECHANISM_TEXT).map(([v, t]) => el("option", { value: v }, t)));
  const regCost = el("p", { id: "reg-cost" });
  const regBtn = el("button", { type: "submit", class: "btn primary", id: "reg-submit" }, "Register subnet");
  const regForm = el("form", { class: "stack", novalidate: true },
    el("div", { class: "field" }, el("label", { for: "reg-name" }, "Name (optional)"), regName),
    el("div", { class: "field" }, el("label", { for: "reg-mech" }, "Mechanism of the new subnet"), regMech),
    regCost, regBtn);
  regForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const cmd = { do: "register_subnet", mechanism: regMech.value };
    const n = regName.value.trim();
    if (n) cmd.name = n.slice(0, 40);
    sendCommand(cmd, regBtn, "Registration placed").then((ok) => { if (ok !== false) regName.value = ""; });
  });
  const regCard = el("section", { class: "card", "aria-labelledby": "reg-h" }, el("h2", { id: "reg-h" }, "Register a new subnet"), regForm);

  host.append(card, mechCard, actionsCard, regCard);

  function render() {
    const ids = ownedIds();
    if (current === null || !ids.includes(current)) current = ids.length ? ids[0] : null;
    pickField.hidden = ids.length < 2;
    const sig = ids.join(",");
    if (pick.dataset.sig !== sig) {
      replace(pick, ...ids.map((id) => el("option", { value: id }, ctx.byId.get(id).name)));
      pick.dataset.sig = sig;
    }
    if (current !== null) pick.value = String(current);
    none.hidden = current !== null;
    const s = sub();
    const me = ctx.me || {};
    $("#own-h", host).textContent = current !== null ? `Your subnet: ${s.name}` : "Your subnet";
    f.price.set(fmt(s.price, 6));
    f.pool.set(current !== null ? el("span", {}, `${fmt(s.tao)} τ`, el("br"), `${fmt(s.alpha)} α`) : "–");
    f.share.set(pct(s.share, 2));
    f.rho.set(pct(s.root_prop, 1));
    f.cut.set(current !== null
      ? el("span", {}, el("span", { class: "real", id: "owner-cut-total" }, alpha(cutReceived())),
        el("small", { class: "est" }, `≈ ${alpha(cutPerEpoch())} next epoch (estimate)`))
      : "–");
    const rev = (me.revenue_by_subnet || {})[String(current)];
    f.revenue.set(tao(isNum(rev) ? rev : s.revenue));
    f.held.set(alpha(current !== null ? (me.alpha || {})[current] || 0 : 0));
    mechNow.textContent = current !== null ? `Now: ${MECHANISM_TEXT[s.mechanism] || s.mechanism || "–"}` : "";
    // Show the subnet's mechanism when the panel first shows a subnet or switches to another
    // (a choice not yet applied stays while the same subnet is shown).
    const checked = mechForm.querySelector("input[name=mechanism]:checked");
    const shown = String(current);
    if ((!checked || mechForm.dataset.subnet !== shown) && s.mechanism) {
      mechForm.dataset.subnet = shown;
      const r = mechForm.querySelector(`input[value="${s.mechanism}"]`);
      if (r) r.checked = true;
    }
    mechBtn.disabled = current === null;
    const open = ctx.params.registration_open !== false;
    const short = open && isNum(ctx.params.lock_cost) && isNum(me.tao) && me.tao < ctx.params.lock_cost;
    regBtn.disabled = !open || short;
    regBtn.textContent = !open ? "Registration closed" : short ? "Not enough TAO to register" : "Register subnet";
    regCost.textContent = !open
      ? "Registering subnets is closed in this game (the instructor's setting)."
      : isNum(ctx.params.lock_cost)
      ? `Lock cost now: ${tao(ctx.params.lock_cost)} (you have ${tao(me.tao)}). It doubles with each registration, then decays.`
      : `Lock cost: paid from your TAO (you have ${tao(me.tao)}). It doubles with each registration, then decays.`;
    sell.help.textContent = `You hold ${alpha(current !== null ? (me.alpha || {})[current] || 0 : 0)} on this subnet. Selling pushes the price down.`;
    buyback.help.textContent = `Subnet revenue available: ${tao(isNum(rev) ? rev : s.revenue)} (then your own TAO: ${tao(me.tao)}). Buying pushes the price up.`;
  }
  return { render };
}
