"""Game state as a structure of arrays: subnets along one axis, players along the other.

Subnet slots are never reused: a pruned subnet keeps its slot with `active` False, so indices
stay stable for the whole game. Players may be appended (late joiners). Everything here is plain
data; the rules live in swap/coinbase/epoch/actions.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

# Per-subnet float arrays (shape [N]).
SUBNET_FLOATS: tuple[str, ...] = (
    "tau",  # TAO reserve
    "x",  # alpha reserve (in the pool)
    "o",  # alpha outstanding: held stake + pending emission
    "m",  # moving price
    "S",  # `tao_flow`: EMA of net user TAO flow
    "flow",  # user TAO flow waiting for the next block (stake minus unstake)
    "net_alpha",  # alpha held by non-players ("network": outside holders, external miners)
    "pend_owner",  # pending alpha (paid at the epoch)
    "pend_miner",
    "pend_val",  # validators' alpha part
    "pend_root_alpha",  # root part kept as alpha (`root_claim_keep`)
    "pend_root_tao",  # TAO from the per-block root sell, for root stakers
    "revenue",  # subnet revenue (TAO) the owner may spend on buybacks
    "alpha_issued",  # issuance accounting: initial + injected + emitted - destroyed
    "ep_alpha_out",  # alpha emitted since the last epoch
    "tick_tao_in",  # TAO injected this tick
    "tick_alpha_in",  # alpha injected this tick
    # (simrules) optional in a stored state: older states load with zeros
    "miner_burn",  # `owner_burn`: share of the miners' emission the owner burns
    "S_proto",  # `protocol_flow_netting`: EMA of the protocol's own TAO flow
)
OPTIONAL_SUBNET_FLOATS: tuple[str, ...] = ("miner_burn", "S_proto")
SUBNET_INTS: tuple[str, ...] = (
    "netuid",
    "mech",  # index into params.MECHANISMS
    "age",  # blocks since emission started (`ema_age_ramp`)
    "owner",  # player index, -1 for none
    "reg_block",  # block of registration (pruning immunity)
)
SUBNET_BOOLS: tuple[str, ...] = ("active", "emitting")

PLAYER_FLOATS: tuple[str, ...] = ("tao", "root", "contributed")
PLAYER_INTS: tuple[str, ...] = ("root_val",)  # -1: the network's root validator
# Income received so far, booked where it is credited (sim/epoch.py, sim/actions.prune) with
# the same floats that are added to the balances. Optional in a stored state (older states
# load with zeros).
PLAYER_TOTALS: tuple[str, ...] = (
    "root_div_tao",  # root dividends received in TAO (root sold every block; prune pots)
)
PLAYER_SUBNET_TOTALS: tuple[str, ...] = (  # [P, N], stored sparsely like `alpha`
    "owner_cut_paid",  # owner cut (alpha) received as the subnet's owner
    "root_div_alpha",  # root dividends received as alpha (`root_claim_keep`, no-incentive)
)

GLOBAL_FLOATS: tuple[str, ...] = (
    "tao_issued",  # I: total TAO issued (halving position)
    "tao_minted",  # TAO injected into pools during the game
    "tao_burned",  # lock cost beyond the pool seed
    "tao_external",  # TAO that entered from outside: ai_work revenue, joins
    "tao_outside",  # TAO paid to non-players (network root, external miners, pruned holders)
    "tao_initial",  # all TAO in the game at start (balances, reserves, root)
    "root_network",  # root stake held by the rest of the network
    "lock_last",  # last lock cost paid
)
GLOBAL_INTS: tuple[str, ...] = ("block", "tick", "lock_block", "next_netuid")


@dataclass
class State:
    # subnets
    tau: np.ndarray = field(default_factory=lambda: np.zeros(0))
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    o: np.ndarray = field(default_factory=lambda: np.zeros(0))
    m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    S: np.ndarray = field(default_factory=lambda: np.zeros(0))
    flow: np.ndarray = field(default_factory=lambda: np.zeros(0))
    net_alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pend_owner: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pend_miner: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pend_val: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pend_root_alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pend_root_tao: np.ndarray = field(default_factory=lambda: np.zeros(0))
    revenue: np.ndarray = field(default_factory=lambda: np.zeros(0))
    alpha_issued: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ep_alpha_out: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tick_tao_in: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tick_alpha_in: np.ndarray = field(default_factory=lambda: np.zeros(0))
    miner_burn: np.ndarray = field(default_factory=lambda: np.zeros(0))
    S_proto: np.ndarray = field(default_factory=lambda: np.zeros(0))
    netuid: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    mech: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    age: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    owner: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reg_block: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    active: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    emitting: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    names: list[str] = field(default_factory=list)
    # players
    tao: np.ndarray = field(default_factory=lambda: np.zeros(0))
    root: np.ndarray = field(default_factory=lambda: np.zeros(0))
    contributed: np.ndarray = field(default_factory=lambda: np.zeros(0))
    root_div_tao: np.ndarray = field(default_factory=lambda: np.zeros(0))
    root_val: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    alpha: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [P, N]
    owner_cut_paid: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [P, N]
    root_div_alpha: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [P, N]
    weights: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3)))  # [P, N, class]
    wset: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))  # [P, N]
    # [P, N] a root-validator player without a seat (UID) on that subnet: its root stake does
    # not count there (sim/epoch.py run_epoch). False = seated, the default.
    no_seat: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    ids: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    bots: list[str | None] = field(default_factory=list)
    # globals
    tao_issued: float = 0.0
    tao_minted: float = 0.0
    tao_burned: float = 0.0
    tao_external: float = 0.0
    tao_outside: float = 0.0
    tao_initial: float = 0.0
    root_network: float = 0.0
    lock_last: float = 1.0
    block: int = 0
    tick: int = 0
    lock_block: int = 0
    next_netuid: int = 1

    # ---- sizes and lookups -------------------------------------------------------------
    @property
    def n_subnets(self) -> int:
        return int(self.tau.shape[0])

    @property
    def n_players(self) -> int:
        return len(self.ids)

    def subnet_index(self, netuid: Any) -> int | None:
        """Slot of an active subnet by its id, or None."""
        if isinstance(netuid, bool) or not isinstance(netuid, (int, np.integer)):
            return None
        hits = np.nonzero((self.netuid == int(netuid)) & self.active)[0]
        return int(hits[0]) if hits.size else None

    def player_index(self, pid: Any) -> int | None:
        """The player's row (the first with this id), or None. A dict built once per list of
        ids and length (players are only ever appended): a tick looks up every player, and
        `list.index` made that quadratic in the class (docs/performance.md, round 2)."""
        if not isinstance(pid, str):
            return None
        cached = self.__dict__.get("_player_rows")
        if cached is None or cached[0] is not self.ids or cached[1] != len(self.ids):
            rows: dict[str, int] = {}
            for k, p in enumerate(self.ids):
                rows.setdefault(p, k)
            cached = self.__dict__["_player_rows"] = (self.ids, len(self.ids), rows)
        return cached[2].get(pid)

    def root_total(self) -> float:
        """All TAO on root: the network's plus the players'."""
        return float(self.root_network + self.root.sum())

    # ---- growth ------------------------------------------------------------------------
    def add_subnet(self, *, netuid: int, name: str, tau: float, x: float, o: float, m: float,
                   mech: int, age: int, owner: int, reg_block: int, S: float = 0.0) -> int:
        """Append a subnet slot; returns its index. `o` starts in the network bucket."""
        for name_ in SUBNET_FLOATS:
            setattr(self, name_, np.append(getattr(self, name_), 0.0))
        for name_ in SUBNET_INTS:
            setattr(self, name_, np.append(getattr(self, name_), 0).astype(np.int64))
        for name_ in SUBNET_BOOLS:
            setattr(self, name_, np.append(getattr(self, name_), True))
        i = self.n_subnets - 1
        self.tau[i], self.x[i], self.o[i], self.m[i], self.S[i] = tau, x, o, m, S
        self.net_alpha[i] = o
        self.alpha_issued[i] = x + o
        self.netuid[i], self.mech[i], self.age[i] = netuid, mech, age
        self.owner[i], self.reg_block[i] = owner, reg_block
        self.names.append(name)
        P = self.n_players
        for name_ in ("alpha",) + PLAYER_SUBNET_TOTALS:
            setattr(self, name_, np.concatenate(
                [getattr(self, name_).reshape(P, i), np.zeros((P, 1))], axis=1))
        self.weights = np.concatenate([self.weights.reshape(P, i, 3), np.zeros((P, 1, 3))],
                                      axis=1)
        self.wset = np.concatenate([self.wset.reshape(P, i), np.zeros((P, 1), dtype=bool)],
                                   axis=1)
        self.no_seat = np.concatenate([self.no_seat.reshape(P, i),
                                       np.zeros((P, 1), dtype=bool)], axis=1)
        self.next_netuid = max(self.next_netuid, netuid + 1)
        return i

    def add_player(self, *, pid: str, role: str, tao: float, bot: str | None) -> int:
        N = self.n_subnets
        self.tao = np.append(self.tao, float(tao))
        self.root = np.append(self.root, 0.0)
        self.contributed = np.append(self.contributed, float(tao))
        for name_ in PLAYER_TOTALS:
            setattr(self, name_, np.append(getattr(self, name_), 0.0))
        self.root_val = np.append(self.root_val, -1).astype(np.int64)
        for name_ in ("alpha",) + PLAYER_SUBNET_TOTALS:
            setattr(self, name_, np.concatenate(
                [getattr(self, name_).reshape(-1, N), np.zeros((1, N))], axis=0))
        self.weights = np.concatenate([self.weights.reshape(-1, N, 3), np.zeros((1, N, 3))],
                                      axis=0)
        self.wset = np.concatenate([self.wset.reshape(-1, N), np.zeros((1, N), dtype=bool)],
                                   axis=0)
        self.no_seat = np.concatenate([self.no_seat.reshape(-1, N),
                                       np.zeros((1, N), dtype=bool)], axis=0)
        self.ids.append(pid)
        self.roles.append(role)
        self.bots.append(bot)
        return self.n_players - 1

    # ---- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for name in SUBNET_FLOATS + PLAYER_FLOATS:
            d[name] = [float(v) for v in getattr(self, name)]
        for name in SUBNET_INTS + PLAYER_INTS:
            d[name] = [int(v) for v in getattr(self, name)]
        for name in SUBNET_BOOLS:
            d[name] = [bool(v) for v in getattr(self, name)]
        # Sparse: most players hold a few subnets and only root validators set weights, so a
        # 1,000-player x 64-subnet game stays small. Entries: [player, slot, value...].
        for name in ("alpha",) + PLAYER_SUBNET_TOTALS:
            m = getattr(self, name)
            ks, js = np.nonzero(m)
            d[name] = [[int(k), int(j), float(m[k, j])] for k, j in zip(ks, js, strict=True)]
        for name in PLAYER_TOTALS:
            d[name] = [float(v) for v in getattr(self, name)]
        ks, js = np.nonzero(self.wset)
        d["weights"] = [[int(k), int(j), *map(float, self.weights[k, j])]
                        for k, j in zip(ks, js, strict=True)]
        if self.no_seat.any():  # absent when every root validator is seated everywhere
            ks, js = np.nonzero(self.no_seat)
            d["no_seat"] = [[int(k), int(j)] for k, j in zip(ks, js, strict=True)]
        d["names"] = list(self.names)
        d["ids"] = list(self.ids)
        d["roles"] = list(self.roles)
        d["bots"] = list(self.bots)
        for name in GLOBAL_FLOATS:
            d[name] = float(getattr(self, name))
        for name in GLOBAL_INTS:
            d[name] = int(getattr(self, name))
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "State":
        s = cls()
        for name in SUBNET_FLOATS + PLAYER_FLOATS:
            if name in OPTIONAL_SUBNET_FLOATS and name not in d:
                setattr(s, name, np.zeros(len(d["tau"])))
                continue
            setattr(s, name, np.array(d[name], dtype=np.float64))
        for name in SUBNET_INTS + PLAYER_INTS:
            setattr(s, name, np.array(d[name], dtype=np.int64))
        for name in SUBNET_BOOLS:
            setattr(s, name, np.array(d[name], dtype=bool))
        P, N = len(d["ids"]), len(d["tau"])
        for name in ("alpha",) + PLAYER_SUBNET_TOTALS:
            m = np.zeros((P, N))
            # the totals are absent from states stored before they existed: zeros then
            for k, j, v in d["alpha"] if name == "alpha" else d.get(name, []):
                m[k, j] = v
            setattr(s, name, m)
        for name in PLAYER_TOTALS:  # absent from states stored before these totals existed
            setattr(s, name, np.array(d.get(name, [0.0] * P), dtype=np.float64))
        s.weights = np.zeros((P, N, 3))
        s.wset = np.zeros((P, N), dtype=bool)
        for k, j, *w in d["weights"]:
            s.weights[k, j] = w
            s.wset[k, j] = True
        s.no_seat = np.zeros((P, N), dtype=bool)
        for k, j in d.get("no_seat", []):  # absent: seated everywhere (and older states)
            s.no_seat[k, j] = True
        s.names = list(d["names"])
        s.ids = list(d["ids"])
        s.roles = list(d["roles"])
        s.bots = list(d["bots"])
        for name in GLOBAL_FLOATS:
            setattr(s, name, float(d[name]))
        for name in GLOBAL_INTS:
            setattr(s, name, int(d[name]))
        return s

    def copy(self) -> "State":
        """A deep copy (arrays copied, lists copied)."""
        new = State()
        for f in fields(self):
            v = getattr(self, f.name)
            setattr(new, f.name, v.copy() if isinstance(v, (np.ndarray, list)) else v)
        return new


def dumps(obj: Any) -> str:
    """Canonical JSON: sorted keys, no spaces; floats by repr (json's default), so a round trip
    is exact."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest(obj: Any) -> str:
    return hashlib.sha256(dumps(obj).encode()).hexdigest()
