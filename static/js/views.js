// Reading the sim's public and private views (sim Game.public_view / private_view, as the server
// sends them: docs/protocol.md) into the shapes the pages use. All field-name knowledge about
// those views lives here, under the names the simulator sends: a view without one of them is a
// bug, so `need` throws (tests/js/views.test.mjs fails) instead of a page drawing "–".

import { isNum } from "./ui.js";

function need(d, key) {
  if (d === null || typeof d !== "object" || !(key in d)) throw new Error(`view without "${key}"`);
  return d[key];
}
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

export function subnetsOf(market) {
  if (!market) return [];
  return need(market, "subnets").map((s) => ({
    id: need(s, "id"),
    name: need(s, "name"),
    price: num(need(s, "price")),
    moving_price: num(need(s, "moving_price")),
    share: num(need(s, "share")),
    tao: num(need(s, "tao")),
    alpha: num(need(s, "alpha")),
    alpha_out: num(need(s, "alpha_out")),
    root_prop: num(need(s, "root_prop")),
    mechanism: need(s, "mechanism"),
    owner: need(s, "owner"),
    incentive: need(s, "incentive"), // null before the subnet's first epoch
    alpha_dividends: num(need(s, "alpha_dividends")),
    revenue: num(need(s, "revenue")),
    // S, the `tao_flow` EMA of net user TAO flow (the share under that rule follows it)
    flow: num(need(s, "flow_ema")),
  }));
}

export function rootStakeOf(market) {
  return market ? num(need(market, "root_stake")) : undefined;
}

const NO_MARKET = { tao_weight: 0.18, owner_cut: 0.18, stake_fee: 0.00005, min_stake: 0.0005, validator_take: 0.18 };

export function paramsOf(market) {
  const p = market ? need(market, "params") : NO_MARKET;
  return {
    tao_weight: need(p, "tao_weight"),
    owner_cut: need(p, "owner_cut"),
    stake_fee: need(p, "stake_fee"),
    rules: market ? need(market, "rules") : ["launch"],
    lock_cost: market ? num(need(market, "lock_cost")) : undefined,
    min_stake: need(p, "min_stake"),
    validator_take: need(p, "validator_take"),
  };
}

/** {"netuid": amount} -> {netuid: amount} (numbers only). */
function bySubnet(d) {
  const out = {};
  for (const [k, v] of Object.entries(d)) if (isNum(v)) out[Number(k)] = v;
  return out;
}

/** Root-validator players a root staker may choose: [{id, nickname, root_stake, stake, seats}]
 * (the server labels each with its seat's nickname). */
export function rootValidatorsOf(market) {
  if (!market) return [];
  return need(market, "root_validators").map((v) => ({
    id: need(v, "id"),
    nickname: need(v, "nickname"),
    root_stake: num(need(v, "root_stake")),
    stake: num(need(v, "stake")),
    seats: need(v, "seats"), // subnets where its root stake votes and earns
  }));
}

export function privateOf(p) {
  if (!p) return null;
  return {
    player: need(p, "id"),
    role: need(p, "role"),
    tao: num(need(p, "tao")),
    alpha: bySubnet(need(p, "alpha")),
    alpha_value: need(p, "alpha_value"),
    root_stake: num(need(p, "root_stake")),
    net_worth: num(need(p, "net_worth")),
    pnl: num(need(p, "pnl")),
    start: num(need(p, "contributed")),
    subnet: need(p, "subnet"),
    subnets_owned: need(p, "owns"),
    // Income received so far (the sim books it as it is credited): owner cut per subnet,
    // root dividends in TAO, and per subnet where root is paid in alpha.
    owner_cut: bySubnet(need(p, "owner_cut")),
    revenue: num(need(p, "revenue")),
    revenue_by_subnet: need(p, "revenue_by_subnet"),
    root_dividends: num(need(p, "root_dividends_tao")),
    root_dividends_alpha: bySubnet(need(p, "root_dividends_alpha")),
    nominated: num(need(p, "nominated")),
    weights: need(p, "weights"),
    validator: need(p, "root_validator"),
    root_seats: need(p, "root_seats"),
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
