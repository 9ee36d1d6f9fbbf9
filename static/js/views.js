// Reading the sim's public and private views (sim Game.public_view / private_view, as the server
// sends them: docs/protocol.md) into the shapes the pages use. All field-name knowledge about
// those views lives here, under the names the simulator sends: a view without one of them is a
// bug, so `need` throws (tests/js/views.test.mjs fails) instead of a page drawing "–".

import { isNum, subnetLabel } from "./ui.js";

function need(d, key) {
  if (d === null || typeof d !== "object" || !(key in d)) throw new Error(`view without "${key}"`);
  return d[key];
}
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const as = (v) => v;

/** {"netuid": amount} -> {netuid: amount} (numbers only). */
function bySubnet(d) {
  const out = {};
  for (const [k, v] of Object.entries(d)) if (isNum(v)) out[Number(k)] = v;
  return out;
}

/** The page's names for a view's fields: {page name: [view field, convert]}, every field required. */
function read(d, fields) {
  const out = {};
  for (const [name, [key, convert]] of Object.entries(fields)) out[name] = convert(need(d, key));
  return out;
}

const SUBNET = {
  id: ["id", as], name: ["name", as], mechanism: ["mechanism", as], owner: ["owner", as],
  price: ["price", num], moving_price: ["moving_price", num], share: ["share", num],
  tao: ["tao", num], alpha: ["alpha", num], alpha_out: ["alpha_out", num],
  root_prop: ["root_prop", num], revenue: ["revenue", num],
  incentive: ["incentive", as], alpha_dividends: ["alpha_dividends", num], // null before its first epoch
  flow: ["flow_ema", num], // S, the `tao_flow` EMA of net user TAO flow (that rule's share follows it)
};
const PARAMS = {
  tao_weight: ["tao_weight", as], owner_cut: ["owner_cut", as], stake_fee: ["stake_fee", as],
  min_stake: ["min_stake", as], validator_take: ["validator_take", as],
};
const NO_MARKET = { tao_weight: 0.18, owner_cut: 0.18, stake_fee: 0.00005, min_stake: 0.0005, validator_take: 0.18 };
// Root-validator players a root staker may choose (the server labels each with its nickname);
// seats: the subnets where its root stake votes and earns.
const VALIDATOR = { id: ["id", as], nickname: ["nickname", as], root_stake: ["root_stake", num], stake: ["stake", num], seats: ["seats", as] };
const PRIVATE = {
  player: ["id", as], role: ["role", as], tao: ["tao", num], alpha: ["alpha", bySubnet],
  alpha_value: ["alpha_value", as], root_stake: ["root_stake", num], net_worth: ["net_worth", num],
  pnl: ["pnl", num], start: ["contributed", num], subnet: ["subnet", as], subnets_owned: ["owns", as],
  // Income received so far (the sim books it as it is credited): owner cut per subnet, root
  // dividends in TAO, and per subnet where root is paid in alpha.
  owner_cut: ["owner_cut", bySubnet], revenue: ["revenue", num], revenue_by_subnet: ["revenue_by_subnet", as],
  root_dividends: ["root_dividends_tao", num], root_dividends_alpha: ["root_dividends_alpha", bySubnet],
  nominated: ["nominated", num], weights: ["weights", as], validator: ["root_validator", as],
  root_seats: ["root_seats", as],
};

/** The subnets as the pages show them: `name` is the label every page writes, "SN28 · TAO
 *  Accumulation Corp" (ui.js subnetLabel); `plain` the subnet's own name. */
export function subnetsOf(market) {
  return market ? need(market, "subnets").map((s) => {
    const v = read(s, SUBNET);
    return { ...v, plain: v.name, name: subnetLabel(v.id, v.name) };
  }) : [];
}

/** id → the subnet's own name in `market` (undefined if it has none): for labelMentions. */
export function subnetNameOf(market) {
  return (id) => {
    const s = ((market && market.subnets) || []).find((x) => x.id === id);
    return s ? s.name : undefined;
  };
}

export function rootStakeOf(market) {
  return market ? num(need(market, "root_stake")) : undefined;
}

export function paramsOf(market) {
  if (!market) return { ...NO_MARKET, rules: ["launch"], lock_cost: undefined, registration_open: true };
  return { ...read(need(market, "params"), PARAMS), rules: need(market, "rules"), lock_cost: num(need(market, "lock_cost")),
    registration_open: need(need(market, "params"), "registration_open") !== 0 };
}

export function rootValidatorsOf(market) {
  return market ? need(market, "root_validators").map((v) => read(v, VALIDATOR)) : [];
}

export function privateOf(p) {
  return p ? read(p, PRIVATE) : null;
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
