"""The hyperparameter-search page's view: one frozen value, encoded in and decoded from the URL.

Query schema ``v=1`` (every field optional; a missing one takes its default)::

    v=1
    ls=rosenbrock          landscape key          lp=b:10      landscape parameters
    opt=adam               the optimizer tuned    start=-1.5,2 start point (default: the landscape's)
    steps=300              steps of each run      hp=beta1     the second hyperparameter
    lr=0.0001,1            learning-rate range    hpr=0,0.99   the second hyperparameter's range
    n=50                   budget (trials per searcher)         seed=0
    s=grid,random,tpe,gp,cmaes,nsga2               the searchers, in panel order
    batch=1                trials per batch of TPE and GP after their start-up (1: sequential)
    prob=surface           the problem kind: surface (an optimizer on a 2-D surface) or network
                           (a small MLP; links without prob are surface problems)
    data=moons  ns=300  noise=0.2  widths=16-16  nsteps=100  mb=0
                           the network problem: data set, samples, noise, hidden widths, training
                           steps, mini-batch size (0: full batch); read only with prob=network

Decoding never raises: a value that does not parse or is out of range adds a warning naming it
and falls back to its default; the rest of the link still applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import landscapes
import optimizers
from app import network_state as net
from app.links.fields import Field, Integer, Number, Pair, Widths, decode, encode
from app.links.surface import decode_landscape_params, decode_start
from app.literal import quoted
from app.query import SCHEMA_VERSION, QueryReader, number_text
from app.state import STEPS_RANGE, AppState, OptimizerEntry
from studies import tuning

MAX_STEPS = STEPS_RANGE[1]  # a run's steps: the explorer's bound
MAX_BUDGET = 100  # the GP sampler's cost per trial grows with the trials so far
MAX_BATCH = 10
DEFAULT_SEARCHERS = tuning.SEARCHERS
PROBLEM_KINDS = ("surface", "network")
NET_DATASETS = net.DATASETS
USING = "using {default}"  # what a bad value's warning says is used instead

# the plain link values, in the order a link writes them (``widget``: the page's widget key);
# the network problem's are read and written only with prob=network
RUN_FIELDS: tuple[Field, ...] = (
    Field("steps", "steps", Integer(1, MAX_STEPS), widget="s_steps"),
    Field("n", "budget", Integer(1, MAX_BUDGET), label="the budget n", widget="s_budget"),
    Field("seed", "seed", Integer(0, 2**31 - 1), widget="s_seed"),
    Field("batch", "batch", Integer(1, MAX_BATCH), widget="s_batch"),
)
RANGE_FIELDS: tuple[Field, ...] = (
    Field("lr", "lr_range", Pair()),
    Field("hpr", "param_range", Pair()),
)
NETWORK_FIELDS: tuple[Field, ...] = (
    Field("ns", "samples", Integer(*net.SAMPLES_RANGE), label="samples ns", widget="s_samples"),
    Field(
        "nsteps",
        "net_steps",
        Integer(*net.STEPS_RANGE),
        label="training steps nsteps",
        widget="s_net_steps",
    ),
    Field(
        "mb",
        "minibatch",
        Integer(*net.BATCH_RANGE),
        label="mini-batch size mb",
        widget="s_minibatch",
    ),
    Field("noise", "noise", Number(*net.NOISE_RANGE), widget="s_noise"),
    Field(
        "widths",
        "widths",
        Widths(net.MAX_LAYERS, *net.WIDTH_RANGE, what="integers", example="16-16"),
    ),
)


@dataclass(frozen=True)
class SearchState:
    """Everything that defines the search page's view; ``to_query``/``from_query`` round-trip it.

    ``param`` None means the optimizer's natural second hyperparameter (momentum, beta1, ...),
    ``param_range`` None its default range (``tuning.SearchSpace.default_for``).
    """

    landscape: str = "rosenbrock"
    landscape_params: tuple[tuple[str, float], ...] = ()
    optimizer: str = "adam"
    start: tuple[float, float] | None = None
    steps: int = 300
    param: str | None = None
    lr_range: tuple[float, float] = (1e-4, 1.0)
    param_range: tuple[float, float] | None = None
    budget: int = 50
    seed: int = 0
    searchers: tuple[str, ...] = DEFAULT_SEARCHERS
    batch: int = 1
    kind: str = "surface"
    dataset: str = "moons"
    samples: int = 300
    noise: float = 0.2
    widths: tuple[int, ...] = (16, 16)
    net_steps: int = 100
    minibatch: int = 0  # 0: full batch

    def __post_init__(self) -> None:
        # one spelling per view: the default second hyperparameter and its default range are None
        if self.optimizer not in optimizers.available():
            return
        if self.param is not None and self.param == tuning.default_param(self.optimizer):
            object.__setattr__(self, "param", None)
        param = self.param or tuning.default_param(self.optimizer)
        if self.param_range is not None and param in tuning.searchable(self.optimizer):
            rng = tuple(float(v) for v in self.param_range)
            if rng == tuple(self.default_space_for(self.optimizer, param)):
                rng = None
            object.__setattr__(self, "param_range", rng)

    # -- derived ------------------------------------------------------------------------------
    def problem(self) -> tuning.Problem | tuning.NetworkProblem:
        if self.kind == "network":
            return tuning.NetworkProblem(
                self.dataset,
                self.samples,
                self.noise,
                self.widths,
                self.optimizer,
                (),
                self.net_steps,
                self.minibatch or None,
                self.seed,
            )
        return tuning.Problem(
            self.landscape,
            self.landscape_params,
            self.optimizer,
            optimizers.get(self.optimizer).surface_settings,  # SGD's noise, as the explorer's
            self.start,
            self.steps,
            self.seed,
        )

    def space(self) -> tuning.SearchSpace:
        default = tuning.SearchSpace.default_for(self.optimizer)
        param = self.param or default.param
        if param != default.param:
            h = {p.name: p for p in optimizers.get(self.optimizer).all_hyperparams()}.get(param)
            log = bool(h and h.log)
            rng = self.param_range or default_range(self.optimizer, param)
        else:
            log, rng = default.param_log, self.param_range or default.param_range
        return tuning.SearchSpace(self.lr_range, param, rng, log)

    @staticmethod
    def default_space_for(optimizer: str, param: str) -> tuple[float, float]:
        """The default range of ``param`` when searched with ``optimizer``."""
        space = tuning.SearchSpace.default_for(optimizer)
        return space.param_range if param == space.param else default_range(optimizer, param)

    def map_key(self) -> SearchState:
        """This state with the search-only fields at their defaults: the dense map's cache key."""
        d = SearchState()
        return replace(self, budget=d.budget, searchers=d.searchers, batch=d.batch)

    def check(self) -> None:
        """Raise ValueError if the problem or the space is not valid."""
        if self.kind == "network":
            self.problem()
        self.space().check(self.optimizer)

    def network_state(self, best: Mapping[str, float]) -> net.NetworkState:
        """The network page's view training this problem's network with the tuned optimizer at
        the best learning rate (the network page keeps only a learning rate per optimizer: the
        second hyperparameter stays at its default there). Raises ValueError if the network page
        cannot express it (an optimizer or learning rate it does not accept)."""
        return net.NetworkState(
            dataset=self.dataset,
            noise=self.noise,
            samples=self.samples,
            model="mlp",
            widths=self.widths,
            seed=self.seed,
            optimizers=(net.NetOptimizer.make(self.optimizer, best["lr"]),),
            steps=self.net_steps,
            batch_size=self.minibatch,
        )

    def explorer_state(self, best: Mapping[str, float]) -> AppState:
        """The explorer's scene running the tuned optimizer with ``best`` hyperparameters."""
        entry = OptimizerEntry.make(self.optimizer, **best)
        return AppState(
            landscape=self.landscape,
            landscape_params=self.landscape_params,
            optimizers=(entry,),
            start=self.start,
            steps=self.steps,
        )

    @classmethod
    def from_scene(cls, scene: AppState) -> SearchState:
        """The explorer's scene as a problem: its landscape, start and first optimizer that has a
        momentum or beta1 (the first optimizer if none has; Adam if the scene has none)."""
        names = [e.name for e in scene.optimizers]
        tuned = [n for n in names if tuning.default_param(n) in ("momentum", "beta1")]
        name = (tuned or names or [cls.optimizer])[0]
        steps = min(max(int(scene.steps), 1), MAX_STEPS)
        return cls(
            landscape=scene.landscape,
            landscape_params=scene.landscape_params,
            optimizer=name,
            start=scene.start,
            steps=steps,
        )

    # -- encoding -----------------------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """Query parameters for this state (defaults left out, except the landscape and optimizer)."""
        q = {"v": SCHEMA_VERSION, "ls": self.landscape, "opt": self.optimizer}
        if self.landscape_params:
            q["lp"] = ",".join(f"{k}:{number_text(v)}" for k, v in self.landscape_params)
        if self.start is not None:
            q["start"] = f"{number_text(self.start[0])},{number_text(self.start[1])}"
        d = SearchState()
        q.update(encode(self, RUN_FIELDS[:1], d))
        if self.param is not None:
            q["hp"] = self.param
        q.update(encode(self, RANGE_FIELDS, d))
        q.update(encode(self, RUN_FIELDS[1:], d))
        if self.searchers != d.searchers:
            q["s"] = ",".join(self.searchers)
        if self.kind != d.kind:
            q["prob"] = self.kind
            q["data"] = self.dataset
            q.update(encode(self, NETWORK_FIELDS, d))
        return q

    @classmethod
    def from_query(
        cls, query: Mapping[str, str | Sequence[str]], base: SearchState | None = None
    ) -> tuple[SearchState, list[str]]:
        """Decode a query over ``base`` (default: the defaults); returns the state and one
        warning per value that could not be used."""
        warn: list[str] = []
        get = QueryReader(query, warn)
        get.check_version()
        state = base or cls()
        up: dict[str, Any] = {}

        key = get.one("ls")
        if key is not None:
            if key in landscapes.available():
                up["landscape"] = key
                up["landscape_params"], up["start"] = (), None
            else:
                warn.append(f"landscape {quoted(key)} is unknown; using {state.landscape!r}")
        land = up.get("landscape", state.landscape)
        lp = get.one("lp")
        if lp:
            up["landscape_params"] = decode_landscape_params(land, lp, warn)
        start = get.one("start")
        if start is not None:
            up["start"] = decode_start(start, land, dict(up.get("landscape_params", ())), warn)

        name = get.one("opt")
        if name is not None:
            if name in optimizers.available():
                up["optimizer"] = name
                up["param"], up["param_range"] = None, None
            else:
                warn.append(f"optimizer {quoted(name)} is unknown; using {state.optimizer!r}")
        opt = up.get("optimizer", state.optimizer)

        up.update(decode(get, RUN_FIELDS, cls(), warn, fallback=USING))

        hp = get.one("hp")
        if hp is not None:
            if hp in tuning.searchable(opt):
                up["param"] = hp
            else:
                warn.append(
                    f"hyperparameter {quoted(hp)} is not one {opt} can search "
                    f"({', '.join(tuning.searchable(opt))}); using {tuning.default_param(opt)!r}"
                )
        up.update(decode(get, RANGE_FIELDS, cls(), warn))

        raw = get.one("s")
        if raw is not None:
            names = [s.strip() for s in raw.split(",") if s.strip()]
            known = tuple(dict.fromkeys(s for s in names if s in tuning.SEARCHERS))
            for s in names:
                if s not in tuning.SEARCHERS:
                    warn.append(
                        f"searcher {quoted(s)} is unknown (known: {', '.join(tuning.SEARCHERS)}); left out"
                    )
            if known:
                up["searchers"] = known
            else:
                warn.append("no known searcher in s; using all")

        _decode_network(get, up, warn)

        result = replace(state, **up)
        if result.kind == "network":
            try:
                result.problem()
            except ValueError as exc:
                if "optimizer" in up:
                    warn.append(f"{exc}; using {cls().optimizer!r}")
                    result = replace(
                        result, optimizer=cls().optimizer, param=None, param_range=None
                    )
                else:  # a base state's optimizer the network cannot train
                    warn.append(f"{exc}; using a surface problem")
                    result = replace(result, kind="surface")
        # the ranges are checked together with the optimizer: a bad one falls back alone
        for attr, label in (("lr_range", "lr"), ("param_range", "hpr")):
            try:
                result.check()
            except ValueError as exc:
                if attr in up:
                    warn.append(f"{label}: {exc}; using the default range")
                    result = replace(result, **{attr: getattr(cls(), attr)})
        try:
            result.check()
        except ValueError as exc:
            warn.append(f"{exc}; using the optimizer's default search space")
            result = replace(result, param=None, lr_range=cls().lr_range, param_range=None)
        return result, warn


def _decode_network(get: QueryReader, up: dict[str, Any], warn: list[str]) -> None:
    """The problem kind and the network fields (read only with prob=network)."""
    d = SearchState()
    kind = get.one("prob")
    if kind is not None:
        if kind in PROBLEM_KINDS:
            up["kind"] = kind
        else:
            warn.append(
                f"problem kind prob={quoted(kind)} is unknown (surface or network); using surface"
            )
    if up.get("kind") != "network":
        return
    data = get.one("data")
    if data is not None:
        if data in NET_DATASETS:
            up["dataset"] = data
        else:
            warn.append(
                f"data set {quoted(data)} is unknown ({', '.join(NET_DATASETS)}); using {d.dataset!r}"
            )
    up.update(decode(get, NETWORK_FIELDS, d, warn, fallback=USING))


def default_range(optimizer: str, param: str) -> tuple[float, float]:
    """A second hyperparameter's slider range (its ``ui``), [0, 0.99] for momentum and betas."""
    if param == tuning.default_param(optimizer):
        return tuning.SearchSpace.default_for(optimizer).param_range
    h = {p.name: p for p in optimizers.get(optimizer).all_hyperparams()}[param]
    if param in ("momentum", "beta1", "beta2", "alpha", "rho"):
        high = 0.999 if param in ("beta2", "alpha", "rho") else 0.99
        low = h.ui[0] if h.ui is not None and param != "momentum" and param != "beta1" else 0.0
        return (low, high)
    if h.ui is not None:
        return (float(h.ui[0]), float(h.ui[1]))
    return (float(h.low), float(h.high))
