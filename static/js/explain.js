// "Explain this number": the mechanism's formulas (docs/mechanism.md) with the live inputs filled in.
// These are for explanation only; every number the game shows comes from the server.

import { fmt, pct, tao, alpha, isNum } from "./ui.js";

/** Constant-product stake of T TAO into (tau, x) with a flat or percent fee. */
export function stakeMath(tauR, xR, T, fee) {
  const Tn = T - fee;
  const out = xR * Tn / (tauR + Tn);
  const pBefore = tauR / xR;
  const pAfter = (tauR + T) / (xR - out);
  return { out, pBefore, pAfter, avg: T / out, impact: pAfter / pBefore - 1, fee, net: Tn };
}

/** Constant-product unstake of a alpha from (tau, x): gross TAO out, seller gets gross - fee. */
export function unstakeMath(tauR, xR, a, fee) {
  const gross = tauR * a / (xR + a);
  const pBefore = tauR / xR;
  const pAfter = (tauR - gross + fee) / (xR + a);
  const got = gross - fee;
  return { out: got, gross, pBefore, pAfter, avg: got / a, impact: pAfter / pBefore - 1, fee };
}

/** ρ = w·R / (w·R + A): root's share of validator weight on a subnet. */
export function rootProportion(w, R, A) {
  const wR = w * R;
  return wR + A > 0 ? wR / (wR + A) : 0;
}

/** Launch-rule emission shares: s_i = m_i / Σ m_j. */
export function priceShares(movingPrices) {
  const sum = movingPrices.reduce((a, m) => a + m, 0);
  return movingPrices.map((m) => (sum > 0 ? m / sum : 0));
}

export function explainPrice(s) {
  return () => ({
    title: `Price of ${s.name || "subnet " + s.id} alpha (TAO per alpha)`,
    formula: "p = τ / x   (TAO reserve ÷ alpha reserve in the pool)",
    inputs: [["τ (TAO in pool)", fmt(s.tao)], ["x (alpha in pool)", fmt(s.alpha)]],
    result: isNum(s.tao) && isNum(s.alpha) && s.alpha > 0 ? fmt(s.tao / s.alpha, 6) + " τ per α" : fmt(s.price, 6),
    note: "Buying (staking) adds TAO and removes alpha, so the price rises; selling does the opposite.",
  });
}

export function explainShare(s, subnets, rules) {
  return () => {
    if (rules && rules.includes("tao_flow")) {
      const pos = subnets.reduce((acc, t) => acc + (isNum(t.flow) ? Math.max(t.flow, 0) : 0), 0);
      const mine = isNum(s.flow) ? Math.max(s.flow, 0) : undefined;
      return {
        title: `Emission share of ${s.name || "subnet " + s.id}`,
        formula: "share = max(S_i, 0) / Σ max(S_j, 0)   (S = moving average of net TAO staked in minus taken out)",
        inputs: [
          ["S_i (this subnet's flow, τ)", fmt(s.flow)],
          ["max(S_i, 0)", fmt(mine)],
          ["Σ max(S_j, 0) (all subnets)", fmt(pos)],
        ],
        result: pct(s.share, 2) + (pos > 0 && isNum(mine) ? ` (check: ${pct(mine / pos, 2)})` : ""),
        note: !(pos > 0)
          ? "No subnet has a positive flow: no subnet receives TAO until someone stakes in."
          : isNum(mine) && mine === 0
            ? "This subnet's flow is not positive (more TAO left than came in): it gets no TAO emission."
            : "Under TAO flow, subnets that people sell out of get nothing. S moves slowly (a 30-day half-life).",
      };
    }
    const moving = subnets.map((t) => (isNum(t.moving_price) ? t.moving_price : 0));
    const sum = moving.reduce((acc, m) => acc + m, 0);
    const mine = priceShares(moving)[subnets.findIndex((t) => t.id === s.id)];
    return {
      title: `Emission share of ${s.name || "subnet " + s.id}`,
      formula: "share = m_i / Σ m_j   (m = moving average of min(price, 1))",
      inputs: [["m_i (this subnet)", fmt(s.moving_price, 6)], ["Σ m (all subnets)", fmt(sum, 6)]],
      result: pct(s.share, 2) + (sum > 0 && isNum(mine) ? ` (check: ${pct(mine, 2)})` : ""),
      note: "The moving price lags the spot price: a pump raises emission only slowly, and the cap at 1.0 limits thin pools.",
    };
  };
}

export function explainRho(s, rootStake, w) {
  return () => {
    const A = (s.alpha || 0) + (s.alpha_out || 0);
    const wR = w * rootStake;
    return {
      title: `Root proportion ρ on ${s.name || "subnet " + s.id}`,
      formula: "ρ = w·R / (w·R + A)",
      inputs: [
        ["w (TAO weight)", fmt(w)],
        ["R (TAO staked on root)", fmt(rootStake)],
        ["A (alpha issued: pool + outstanding)", fmt(A)],
      ],
      result: isNum(s.root_prop) ? pct(s.root_prop, 2) : pct(rootProportion(w, rootStake, A), 2),
      note: "ρ is root's share of validator weight and dividends on this subnet. Above 50% root alone decides consensus; as alpha accumulates ρ falls.",
    };
  };
}

export function explainDividend(s, mine, ownerCut, rho) {
  return () => {
    const c = isNum(ownerCut) ? ownerCut : 0.18;
    const valHalf = (1 - c) / 2;
    const held = mine || 0;
    const staked = s.alpha_out || 0;
    const inc = s.incentive || {};
    const paid = isNum(s.alpha_dividends) ? s.alpha_dividends + (inc.holders || 0) : undefined;
    return {
      title: `Dividend yield on ${s.name || "subnet " + s.id} (alpha per alpha held, per epoch)`,
      formula: isNum(paid)
        ? "yield = (alpha stakers' dividends + holders' incentive, last epoch) / alpha outstanding"
        : "≈ [(1 − c)/2 × (1 − ρ) + (1 − c)/2 if hold-to-earn] × alpha emitted per epoch / alpha outstanding",
      inputs: [
        ["c (owner cut)", fmt(c)],
        ["validators' half (1 − c)/2", fmt(valHalf)],
        ["ρ (root's part of it)", pct(rho, 2)],
        ["mechanism", s.mechanism || "–"],
        ["paid to holders last epoch", isNum(paid) ? alpha(paid) : "no epoch yet"],
        ["alpha outstanding", alpha(staked)],
        ["your alpha", alpha(held)],
        ["your share of it", staked > 0 ? pct(held / staked, 3) : "–"],
      ],
      result: isNum(s.dividend_yield) ? pct(s.dividend_yield, 2) + " per epoch" + (isNum(s.dividend_yield) && held > 0 ? ` ≈ ${alpha(s.dividend_yield * held)} for you` : "") : undefined,
      note: "Paid at the end of each epoch through consensus (a validator keeps its 18% take first). On a hold-to-earn subnet the miners' half goes to holders too: that is the meme loop.",
    };
  };
}

export function explainQuote(q, s, side, amount, fee) {
  return () => {
    if (!s) return { title: "Slippage", note: "Pick a subnet and an amount to see a quote." };
    const f = isNum(fee) ? fee : 0.00005;
    if (side === "unstake") {
      const m = isNum(amount) && amount > 0 ? unstakeMath(s.tao, s.alpha, amount, f) : null;
      return {
        title: "Selling alpha into the pool (constant product x·y = k)",
        formula: "TAO out = τ·a / (x + a) − fee;   average price = TAO out / a;   impact = p_after / p_before − 1",
        inputs: [["τ (TAO in pool)", fmt(s.tao)], ["x (alpha in pool)", fmt(s.alpha)], ["a (alpha you sell)", fmt(amount)], ["fee", tao(f)]],
        result: m ? `${tao(m.out)} at ${fmt(m.avg, 6)} τ/α, impact ${pct(m.impact, 2)}` : "–",
        note: "The bigger your trade relative to the pool, the worse your average price.",
      };
    }
    const m = isNum(amount) && amount > f ? stakeMath(s.tao, s.alpha, amount, f) : null;
    return {
      title: "Buying alpha from the pool (constant product x·y = k)",
      formula: "alpha out = x·T′ / (τ + T′),  T′ = T − fee;   average price = T / alpha out;   impact = p_after / p_before − 1",
      inputs: [["τ (TAO in pool)", fmt(s.tao)], ["x (alpha in pool)", fmt(s.alpha)], ["T (TAO you pay)", fmt(amount)], ["fee", tao(f)]],
      result: m ? `${alpha(m.out)} at ${fmt(m.avg, 6)} τ/α, impact ${pct(m.impact, 2)}` : "–",
      note: q && q.status === "rejected" ? "The server would reject this trade: " + (q.reason || "") : "The server's quote above is what counts; this is the same formula with the pool as you see it.",
    };
  };
}
