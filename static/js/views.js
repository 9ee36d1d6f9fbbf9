// Reading the sim's public and private views (sim Game.public_view / private_view) into the
// shapes the pages use. All field-name knowledge about those views lives here.

import { isNum, subnetLabel } from "./ui.js";

function g(d, ...names) {
  if (!d) return undefined;
  for (const n of names) if (d[n] !== undefined && d[n] !== null) return d[n];
  return undefined;
}
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

export function subnetsOf(market) {
  const list = (market && market.subnets) || [];
  return list.filter((s) => s && s.active !== false).map((s) => {
    const tao = num(g(s, "tao", "tao_reserve", "tau"));
    const alpha = num(g(s, "alpha", "alpha_reserve", "x"));
    const id = s.id ?? s.netuid;
    return {
      id,
      // what every page shows: "SN28 · TAO Accumulation Corp" (ui.js subnetLabel)
      name: subnetLabel(id, g(s, "name")),
      plain: g(s, "name") || "",
      price: num(g(s, "price")) ?? (isNum(tao) && alpha > 0 ? tao / alpha : undefined),
      moving_price: num(g(s, "moving_price", "m")),
      share: num(g(s, "share")),
      tao, alpha,
      alpha_out: num(g(s, "alpha_out", "o")),
      root_prop: num(g(s, "root_prop", "rho")),
      mechanism: g(s, "mechanism"),
      owner: g(s, "owner"),
      owner_nickname: g(s, "owner_nickname"),
      incentive: g(s, "incentive", "last_incentive"),
      alpha_dividends: num(g(s, "alpha_dividends")),
      root_dividends_tao: num(g(s, "root_dividends_tao")),
      revenue: num(g(s, "revenue")),
      // S, the `tao_flow` EMA of net user TAO flow (the share under that rule follows it)
      flow: num(g(s, "flow_ema", "flow", "S", "tao_flow")),
      emitting: g(s, "emitting"),
    };
  });
}

export function rootStakeOf(market) {
  if (!market) return undefined;
  const r = g(market, "root_stake", "root_total");
  if (isNum(r)) return r;
  if (market.root && isNum(market.root.stake)) return market.root.stake;
  return undefined;
}

/** id → the subnet's own name in `market` (undefined if it has none): for labelMentions. */
export function subnetNameOf(market) {
  return (id) => {
    const s = ((market && market.subnets) || []).find((x) => (x.id ?? x.netuid) === id);
    return s ? s.name : undefined;
  };
}

export function paramsOf(market) {
  const p = (market && (market.params || {})) || {};
  return {
    tao_weight: num(g(p, "tao_weight")) ?? num(g(market || {}, "tao_weight")) ?? 0.18,
    owner_cut: num(g(p, "owner_cut")) ?? num(g(market || {}, "owner_cut")) ?? 0.18,
    stake_fee: num(g(p, "stake_fee")) ?? 0.00005,
    rules: (market && (market.rules || (market.params && market.params.rules))) || ["launch"],
    lock_cost: num(g(market || {}, "lock_cost", "registration_cost")),
    registration_open: g(p, "registration_open") !== 0,
    min_stake: num(g(p, "min_stake")) ?? 0.0005,
    validator_take: num(g(p, "validator_take")) ?? 0.18,
  };
}

/** {"netuid": amount} -> {netuid: amount} (numbers only). */
function bySubnet(d) {
  const out = {};
  if (d && typeof d === "object") for (const [k, v] of Object.entries(d)) if (isNum(v)) out[Number(k)] = v;
  return out;
}

/** Root-validator players a root staker may choose: [{id, nickname, root_stake, stake}]. */
export function rootValidatorsOf(market) {
  const list = (market && market.root_validators) || [];
  return list.filter((v) => v && typeof v.id === "string").map((v) => ({
    id: v.id,
    nickname: typeof v.nickname === "string" && v.nickname ? v.nickname : v.id,
    root_stake: num(v.root_stake),
    stake: num(v.stake),
    // Subnets where this validator holds a seat (its stake counts only there); absent from an
    // older server: seated everywhere.
    seats: Array.isArray(v.seats) ? v.seats : null,
  }));
}

export function privateOf(p) {
  if (!p) return null;
  const alphaRaw = g(p, "alpha", "holdings") || {};
  const alpha = {};
  if (Array.isArray(alphaRaw)) {
    for (const r of alphaRaw) if (r && r.subnet !== undefined) alpha[r.subnet] = r.alpha ?? r.amount ?? 0;
  } else {
    for (const [k, v] of Object.entries(alphaRaw)) alpha[Number(k)] = v;
  }
  const worth = num(g(p, "net_worth"));
  const start = num(g(p, "start_net_worth", "initial_net_worth", "contributed"));
  return {
    player: g(p, "player", "id"),
    role: g(p, "role"),
    tao: num(g(p, "tao")),
    alpha,
    alpha_value: g(p, "alpha_value") || {},
    root_stake: num(g(p, "root_stake", "root")),
    net_worth: worth,
    pnl: num(g(p, "pnl")) ?? (isNum(worth) && isNum(start) ? worth - start : undefined),
    pnl_pct: num(g(p, "pnl_pct")),
    start,
    subnet: g(p, "subnet", "owned_subnet"),
    subnets_owned: g(p, "owns", "owned_subnets"),
    // Income received so far (the sim books it as it is credited): owner cut per subnet,
    // root dividends in TAO, and per subnet where root is paid in alpha.
    owner_cut: bySubnet(g(p, "owner_cut")),
    revenue: num(g(p, "revenue")),
    revenue_by_subnet: g(p, "revenue_by_subnet") || {},
    dividends: g(p, "dividends", "last_dividends"),
    root_dividends: num(g(p, "root_dividends_tao", "root_dividends")),
    root_dividends_alpha: bySubnet(g(p, "root_dividends_alpha")),
    nominated: num(g(p, "nominated")),
    weights: g(p, "weights", "my_weights") || {},
    validator: g(p, "validator", "root_validator"),
    root_seats: Array.isArray(p.root_seats) ? p.root_seats : null,
  };
}

/** Relative price change over the last `epochs` epochs from the tick history. */
export function priceChange(history, id, ticksBack) {
  if (!history.length) return undefined;
  const last = history[history.length - 1];
  const then = history[Math.max(0, history.length - 1 - ticksBack)];
  const a = (then.subnets || []).find((s) => s.id === id);
  const b = (last.subnets || []).find((s) => s.id === id);
  if (!a || !b || !(a.price > 0) || then === last) return undefined;
  return b.price / a.price - 1;
}

/** The context the role panels read, rebuilt from the store's state on every change. */
export function updateCtx(ctx, st) {
  ctx.game = st.game;
  ctx.subnets = subnetsOf(st.market);
  ctx.byId = new Map(ctx.subnets.map((s) => [s.id, s]));
  ctx.me = privateOf(st.private);
  ctx.params = paramsOf(st.market);
  ctx.rootStake = rootStakeOf(st.market);
  ctx.rootValidators = rootValidatorsOf(st.market);
  ctx.history = st.history;
  const m = st.market || {};
  ctx.blocksPerEpoch = (m.blocks_per_tick || 0) * (m.ticks_per_epoch || (st.game && st.game.ticks_per_epoch) || 1);
  return ctx;
}

export function newCtx() {
  return { subnets: [], byId: new Map(), me: null, params: paramsOf(null), rootStake: undefined, rootValidators: [], selected: null, history: [], game: null, blocksPerEpoch: 0 };
}
