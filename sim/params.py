"""Economy parameters and regime names (docs/mechanism.md defaults).

`DEFAULTS` is the plain dict a scenario's `params` is filled from; `Params` is the typed, frozen
view the engine reads. Every name in `DEFAULTS` may appear in a scenario's `params`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

# Regime switches (docs/mechanism.md "Rule sets"). `launch` is the baseline and always implied.
RULES: tuple[str, ...] = (
    "launch",
    "ema_age_ramp",
    "chain_buys",
    "percent_fee",
    "tao_flow",
    "root_claim_keep",
    "pruning",
)

# What a subnet's own validators reward, and the miner classes they reward.
MECHANISMS: tuple[str, ...] = ("ai_work", "hold_to_earn", "owner_mined")
MINER_CLASSES: tuple[str, ...] = ("workers", "holders", "owner")
# mechanism -> index of the miner class it puts all its weight on
MECHANISM_CLASS: dict[str, int] = {"ai_work": 0, "hold_to_earn": 1, "owner_mined": 2}

ROLES: tuple[str, ...] = ("speculator", "subnet_owner", "root_validator", "instructor")

# Total supply of TAO and of each subnet's alpha: the halving curve is on issuance against it.
TOTAL_SUPPLY = 21_000_000.0


@dataclass(frozen=True)
class Params:
    """Numbers of the economy. Names match docs/scenario-format.md `params`."""

    block_emission: float = 1.0  # TAO per block before halvings
    tao_issued: float = 0.0  # TAO already issued when the game starts (halving position)
    tao_weight: float = 0.18  # w: root stake's weight against alpha
    # The chain's owner cut is 11,796/65,535 (about 0.17999; the `chain_owner_cut` rule); the
    # worked examples of docs/mechanism.md and the scenario format use 0.18, so the game does too.
    owner_cut: float = 0.18
    moving_alpha: float = 3e-6  # EMA step per block (half-life about 32 days)
    ema_halving_blocks: int = 201_600  # H of the `ema_age_ramp` rule
    kappa: float = 0.5  # Yuma consensus quantile
    validator_take: float = 0.18  # root validator players keep this of their nominators' part
    stake_fee: float = 0.00005  # flat fee per stake/unstake (TAO), `launch`
    percent_fee_rate: float = 33 / 65_535  # `percent_fee`: share of the input
    # ---- the chain's rules of 2025-26 (docs/mechanism.md "Rule sets"; simrules) ----
    # `tao_flow` cutoff L0 and exponent p: s_i ~ max(S_i - L, 0)^p, L = max(L0, min(min S, 0))
    # (chain: TaoFlowCutoff, FlowNormExponent; defaults 0 and 1, the plain flow rule)
    flow_cutoff: float = 0.0
    flow_exponent: float = 1.0
    miner_sell_fraction: float = 0.5  # external ai_work miners sell this share each epoch
    min_stake: float = 0.0005  # smallest stake (and smallest unstake, by TAO value)
    reserve_floor: float = 0.01  # no swap may leave less than this in either reserve
    alpha_block_emission: float = 1.0  # alpha per block per subnet before its halvings
    flow_beta: float = 3.209e-6  # `tao_flow`: EMA step of net TAO flow (30-day half-life)
    lock_min: float = 1.0  # minimum subnet lock cost (TAO)
    lock_interval: int = 100_800  # blocks over which a doubled lock cost decays back
    registration_open: int = 1  # 0: no player may register a subnet (`registration_closed`)
    pool_seed: float = 1.0  # a new subnet's pool opens at tau = alpha = pool_seed
    subnet_limit: int = 128  # most active subnets (`pruning` removes one to make room)
    immunity_blocks: int = 50_400  # a newer subnet than this cannot be pruned (7 days)
    # ai_work subnets earn outside revenue (TAO) worth this share of the TAO value of the alpha
    # paid to their workers each epoch: the "real demand" the meme loop lacks.
    work_revenue_ratio: float = 0.5

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> "Params":
        """Typed params from a scenario's `params`; unknown names are ignored here (the
        scenario loader reports them), missing names take the defaults."""
        known = {f.name: f.type for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in (values or {}).items():
            if key in known:
                default = getattr(cls, key)
                kwargs[key] = int(value) if isinstance(default, int) else float(value)
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULTS: dict[str, Any] = Params().as_dict()

# Defaults of the other scenario sections (docs/scenario-format.md).
CLOCK_DEFAULTS: dict[str, Any] = {
    "blocks_per_tick": 7200,
    "ticks_per_epoch": 1,
    "epochs": 30,
    "tick_seconds": 5,
}
ROOT_DEFAULTS: dict[str, Any] = {"stake": 0.0}
SUBNET_DEFAULTS: dict[str, Any] = {
    "alpha_out": 0.0,
    "moving_price": 0.0,
    "mechanism": "ai_work",
    "age_blocks": 0,
}
PLAYER_DEFAULTS: dict[str, Any] = {"role": "speculator", "tao": 0.0}


# ---- the chain's rules of 2025-26 (simrules; docs/mechanism.md "Rule sets") ------------------
# Switches added after the first rule sets. Each is dated by the subtensor commit that put it on
# chain; docs/mechanism.md gives the formula and the source file of each.
LATER_RULES: tuple[str, ...] = (
    "chain_buys_nov2025",  # cap at a (not E), buy before injecting, bought alpha recycled
    "root_sell_flag",  # root alpha recycled whenever the moving prices sum to <= 1
    "owner_burn",  # an owner may burn a share of its miners' emission (`set_miner_burn`)
    "protocol_flow_netting",  # `tao_flow` nets the protocol's own TAO out of S
    "price_shares_2026",  # price shares x (1 - burned); injection capped at rho*a, rest bought
    "percent_fee_out",  # the percent fee leaves the pool instead of staying in it
    "move_half_fee",  # a move pays half the fee on each of its two swaps (launch chain)
    "move_one_fee",  # a move pays the fee on its unstake only (Jul 2025 on)
    "chain_owner_cut",  # owner cut 11,796/65,535 instead of the worked examples' 0.18
    "root_restake",  # root dividends in TAO are staked on root, not paid liquid (launch chain)
    "lock_in_pool",  # a registration's whole lock seeds the pool, at the median subnet price
)
RULES = RULES + LATER_RULES

# The chain's owner cut: SubnetOwnerCut = 11,796 of u16::MAX (runtime/src/lib.rs).
CHAIN_OWNER_CUT = 11_796 / 65_535

# When each switch went on chain (first mainnet form; docs/mechanism.md has the commits).
RULE_DATES: dict[str, str] = {
    "launch": "2025-02-13",
    "ema_age_ramp": "2025-03",
    "chain_buys": "2025-07",
    "percent_fee": "2025-07",
    "move_one_fee": "2025-07",
    "pruning": "2025-09",
    "tao_flow": "2025-10",
    "chain_buys_nov2025": "2025-11",
    "root_claim_keep": "2025-11",
    "root_sell_flag": "2025-11",
    "owner_burn": "2025-08",
    "percent_fee_out": "2025-07",
    "protocol_flow_netting": "2026-05",
    "price_shares_2026": "2026-06",
    "move_half_fee": "2025-02-13",
    "chain_owner_cut": "2025-02-13",
    "root_restake": "2025-02-13",
    "lock_in_pool": "2026-04",
}

# The rule sets the chain has run, oldest first: (label, from, rules). A scenario's `rules`
# may be any combination; these are the historical ones the presets and tests use.
RULE_SETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("launch", "2025-02-13", ("launch", "move_half_fee", "chain_owner_cut", "root_restake")),
    ("ema_age_ramp", "2025-03", ("launch", "ema_age_ramp", "move_half_fee", "chain_owner_cut",
                                 "root_restake")),
    ("chain_buys", "2025-07", ("launch", "ema_age_ramp", "chain_buys", "percent_fee",
                               "percent_fee_out", "move_one_fee", "chain_owner_cut",
                               "root_restake")),
    ("tao_flow", "2025-10", ("launch", "ema_age_ramp", "chain_buys", "percent_fee",
                             "percent_fee_out", "move_one_fee", "owner_burn", "pruning",
                             "tao_flow", "chain_owner_cut", "root_restake")),
    ("tao_flow_nov2025", "2025-11", ("launch", "ema_age_ramp", "chain_buys_nov2025",
                                     "percent_fee", "percent_fee_out", "move_one_fee",
                                     "owner_burn", "pruning", "tao_flow", "root_claim_keep",
                                     "root_sell_flag", "chain_owner_cut")),
    ("net_flow_2026", "2026-05", ("launch", "ema_age_ramp", "chain_buys_nov2025", "percent_fee",
                                  "move_one_fee", "owner_burn", "pruning",
                                  "tao_flow", "protocol_flow_netting", "root_claim_keep",
                                  "root_sell_flag", "chain_owner_cut")),
    ("price_shares_2026", "2026-06", ("launch", "ema_age_ramp", "price_shares_2026",
                                      "percent_fee", "move_one_fee",
                                      "owner_burn", "pruning", "root_claim_keep",
                                      "root_sell_flag", "chain_owner_cut")),
)
