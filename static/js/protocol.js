// Protocol v1 (docs/protocol.md): message names, which messages are public (advance seq), which
// are replies (carry the id of the client message they answer), and close codes.

const PUBLIC = new Set(["lobby", "status", "tick", "next_round"]);
const REPLIES = new Set(["accepted", "rejected", "quote", "cancelled", "ok", "pong", "error"]);
// Do not auto-reconnect: no identity, bad origin, no such game, kicked, seat taken over by
// another device or tab (reconnecting would take it back and the two would fight).
const FATAL_CLOSE = new Set([4001, 4003, 4004, 4010, 4011]);

export const P = {
  snapshotRequest: () => ({ type: "snapshot" }),
  ping: (id) => ({ type: "ping", id }),
  isSnapshot: (m) => m.type === "snapshot",
  isPublic: (m) => PUBLIC.has(m.type),
  isReply: (m) => REPLIES.has(m.type),
  isError: (m) => m.type === "error" || m.type === "rejected",
  /** The client id a reply answers: `ref` on errors, `id` on the others. */
  refOf: (m) => (m.type === "error" ? m.ref : REPLIES.has(m.type) ? m.id : null) || null,
  /** Quotes and pings are not worth resending after a reconnect. */
  isEphemeral: (m) => m.type === "quote" || m.type === "ping" || m.ephemeral === true,
  /** A command is done once the server has *stored* it (accepted) or refused it. */
  isFatalClose: (code) => FATAL_CLOSE.has(code),
};

export const CLOSE_TEXT = {
  4001: "This browser has no seat in this game. Join again from the join page.",
  4003: "This page's address is not allowed to connect.",
  4004: "There is no game with this code.",
  4010: "The instructor removed you from this game.",
  4011: "Your seat is now open on another device or tab.",
  4013: "The server could not send this page the game (it has been logged). Reload the page; if this happens again, tell the instructor.",
};

export const REASON_TEXT = {
  insufficient_tao: "not enough TAO",
  insufficient_alpha: "not enough alpha",
  below_minimum: "below the minimum amount",
  reserve_floor: "the pool would be emptied",
  limit_not_met: "your limit price was not met",
  unknown_subnet: "no such subnet",
  unknown_player: "unknown player",
  not_owner: "you do not own this subnet",
  not_root_validator: "only root validators can do that",
  bad_weights: "invalid weights",
  bad_mechanism: "invalid mechanism",
  invalid_amount: "invalid amount",
  subnet_limit: "no room for another subnet",
  registration_closed: "registering subnets is closed in this game",
  unknown_action: "unknown action",
  game_not_started: "the game has not started",
  game_over: "the game is over",
  seat_not_active: "your seat is not active yet (it joins at the next tick)",
  rate_limited: "too many messages, slow down",
  invalid: "the server refused this input",
  not_cancellable: "already settled",
  unknown_validator: "no such root validator",
  validator_mismatch: "your root stake is with another validator: unstake it all first",
  insufficient_root: "not that much on root",
};

export function reasonText(code) {
  return REASON_TEXT[code] || (code ? String(code).replace(/_/g, " ") : "");
}

export const ROLE_TEXT = {
  speculator: "Speculator",
  subnet_owner: "Subnet owner",
  root_validator: "Root validator",
};

export const MECHANISM_TEXT = {
  ai_work: "AI work",
  hold_to_earn: "Hold-to-earn",
  owner_mined: "Owner-mined",
};

/** One paragraph per role: what you are trying to do (shown in the lobby and under "How to play"). */
export const ROLE_HELP = {
  speculator: "You start with TAO. Buy a subnet's alpha (stake) when you think its price will rise, sell (unstake) to take profit, or move between subnets. Every trade moves the pool's price: check the quote before you confirm. Your score is what everything you hold would sell for now.",
  subnet_owner: "You own a subnet and receive 18% of all the alpha it emits. Choose what its validators reward: useful AI work (earns TAO revenue you can spend on buybacks), holders (the meme loop: buying raises the price, the price raises emission, emission pays holders), or your own miners. You can also sell your alpha or register another subnet.",
  root_validator: "Your TAO is staked on root, which weighs on every subnet's consensus (ρ). For each subnet, follow its mechanism or override it: pay the AI workers, the holders or the owner. Where root holds more than half the weight, root decides what miners earn. As alpha accumulates, ρ falls, and so does that power.",
};
