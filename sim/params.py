"""Economy parameters and regime names (MECHANISM.md defaults).

`DEFAULTS` is the plain dict a scenario's `params` is filled from; `Params` is the typed, frozen
view the engine reads. Every name in `DEFAULTS` may appear in a scenario's `params`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

# Regime switches (MECHANISM.md "Rule sets"). `launch` is the baseline and always implied.
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
    """Numbers of the economy. Names match SCENARIO-FORMAT.md `params`."""

    block_emission: float = 1.0  # TAO per block before halvings
    tao_issued: float = 0.0  # TAO already issued when the game starts (halving position)
    tao_weight: float = 0.18  # w: root stake's weight against alpha
    # The chain's owner cut is 11,796/65,535 (about 0.17999); MECHANISM.md's worked examples and
    # the scenario format use 0.18, so the game does too.
    owner_cut: float = 0.18
    moving_alpha: float = 3e-6  # EMA step per block (half-life about 32 days)
    ema_halving_blocks: int = 201_600  # H of the `ema_age_ramp` rule
    kappa: float = 0.5  # Yuma consensus quantile
    validator_take: float = 0.18  # root validator players keep this of their nominators' part
    stake_fee: float = 0.00005  # flat fee per stake/unstake (TAO), `launch`
    percent_fee_rate: float = 33 / 65_535  # `percent_fee`: share of the input
    miner_sell_fraction: float = 0.5  # external ai_work miners sell this share each epoch
    min_stake: float = 0.0005  # smallest stake (and smallest unstake, by TAO value)
    reserve_floor: float = 0.01  # no swap may leave less than this in either reserve
    alpha_block_emission: float = 1.0  # alpha per block per subnet before its halvings
    flow_beta: float = 3.209e-6  # `tao_flow`: EMA step of net TAO flow (30-day half-life)
    lock_min: float = 1.0  # minimum subnet lock cost (TAO)
    lock_interval: int = 100_800  # blocks over which a doubled lock cost decays back
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

# Defaults of the other scenario sections (SCENARIO-FORMAT.md).
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
