"""Automated hyperparameter search on a 2-D surface, made visible: grid, random, TPE, GP, CMA-ES, NSGA-II.

The *problem*: run one optimizer (say Adam) on one surface from one start for N steps. The
*objective* of a hyperparameter setting (learning rate, and one more hyperparameter such as
momentum or beta1) is what that run achieves:

    J(lr, h) = log10(max(f(x_N) - f*, 1e-12))        when the surface's global minimum f* is known,
    J(lr, h) = f(x_N)                                 otherwise (e.g. an unbounded saddle),

with x_N the point reached after N steps. A run that diverges (the runner's status "diverged":
non-finite, or far outside the domain) scores a finite penalty ``P`` (the start's score plus one
decade, or plus max(1, |f(x_0)|) for the raw objective), and no score is worse than ``P``, so a
searcher sees "worse than not moving at all" rather than infinity.

Every searcher is an Optuna sampler (Optuna does the searching; nothing here is a home-made
Bayesian optimizer). Evaluations are batched through the ask-and-tell interface: a batch of
trials is asked, evaluated in *one* ``optimizers.simulate`` call (the runner sweeps
hyperparameters given as 1-D arrays), and told. ``run_searches`` advances all searchers in
lockstep and evaluates one round of every searcher's batch in a single call, so the cost of a
search is a few batched runs, not one run per trial. How each searcher is batched:

- grid, random: the trials do not depend on results, so all are asked at once (identical to
  sequential).
- CMA-ES: one generation (popsize trials) per batch: within a generation the samples never depend
  on the generation's own results, so this *is* the sequential algorithm. Its first trial is
  Optuna's single random start-up trial.
- NSGA-II: one generation (population of 6) per batch, likewise identical to sequential.
- TPE and GP: the 10 random start-up trials at once (identical to sequential), then ``batch``
  trials at a time. The default ``batch=1`` is the sequential algorithm (one simulate call per
  trial after the start-up: 41 rounds for 50 trials). With a larger batch, trials still running
  when a new one is asked are handled as Optuna does for parallel workers: TPE's constant liar
  counts them as bad results, the GP sampler switches to a Monte Carlo batch expected
  improvement (qEI) over them, so a batch spreads out instead of repeating one point. It is a
  (slightly less sample-efficient) batch Bayesian optimization, as deterministic as the
  sequential one. At batch 5 a 50-trial search needs 10 rounds of simulate calls instead of
  41 (see bench/search.py for the times).

Seeds: every sampler gets ``seed``, so random search, TPE and GP share their first 10 (random)
trials and CMA-ES its first: the model-based searchers start from the same design, and differ
only in what they do with it. NSGA-II gets ``seed + 1`` (with the same seed, its random first
generation and its mutations, fresh uniform draws, would replay random search's draws).

Reproducible: the same problem, space, budget, seed and batch give the same trials, whether a
searcher runs alone (``run_search``) or with others (``run_searches``).

A second problem kind, ``NetworkProblem``: the optimizer trains a small MLP classifier
(``landscapes.network``) and the objective is log10 of the validation loss after N steps; a batch
of trials is one batched ``studies.training.train`` call. It has the same interface
(``optimizer``, ``fixed``, ``evaluate``, ``objective_text``) and goes wherever a ``Problem`` does.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

import landscapes
from optimizers import base, simulate

optuna.logging.set_verbosity(optuna.logging.WARNING)

SEARCHERS = ("grid", "random", "tpe", "gp", "cmaes", "nsga2")
MAX_BUDGET = 500
MAX_RESOLUTION = 201
STARTUP = 10  # random start-up trials of TPE and GP (Optuna's default)
POPULATION = 6  # NSGA-II's population: 8 generations in 50 trials (10 gave 5, too few)
PAD_RUNS = 32  # evaluations are padded to a multiple of this many runs (see Problem.evaluate)
FLOOR = 1e-12  # gaps below this count as "at the minimum" in the log objective


@dataclass(frozen=True)
class SearcherInfo:
    """What a searcher is: its title, what it does (one paragraph) and where it comes from."""

    key: str
    title: str
    description: str
    reference: str


SEARCHER_INFO: dict[str, SearcherInfo] = {
    s.key: s
    for s in (
        SearcherInfo(
            "grid",
            "Grid search",
            "Tries every point of a regular grid over the space (log-spaced in the learning rate), "
            "the largest near-square grid that fits the budget, visited in a random order (Optuna's "
            "GridSampler). It learns nothing from the results: its resolution is fixed in advance, "
            "so a narrow good region between grid lines is missed, and each extra hyperparameter "
            "multiplies the cost.",
            "optuna.samplers.GridSampler",
        ),
        SearcherInfo(
            "random",
            "Random search",
            "Draws every trial independently and uniformly (log-uniformly in the learning rate). It "
            "learns nothing from the results either, but unlike a grid it never tries the same "
            "value of one hyperparameter twice, which is why it often beats grid search when only "
            "one hyperparameter matters much.",
            "Bergstra & Bengio 2012, 'Random search for hyper-parameter optimization', JMLR 13",
        ),
        SearcherInfo(
            "tpe",
            "Bayesian optimization (TPE)",
            "Tree-structured Parzen estimator: after 10 random trials it splits the trials so far "
            "into good and bad ones, fits a density to each (l for good, g for bad) and tries the "
            "candidate with the largest ratio l/g, i.e. where good results are likely compared "
            "with bad ones. It concentrates trials near the best ones found while still exploring.",
            "Bergstra, Bardenet, Bengio & Kégl 2011, 'Algorithms for hyper-parameter optimization', "
            "NeurIPS; Watanabe 2023, 'Tree-structured Parzen estimator: understanding its algorithm "
            "components', arXiv:2304.11127",
        ),
        SearcherInfo(
            "gp",
            "Bayesian optimization (Gaussian process)",
            "After 10 random trials it fits a Gaussian process (a smooth random-function model with "
            "an uncertainty at every point) to the results and tries the point that maximises the "
            "expected improvement over the best so far: low predicted values or high uncertainty. "
            "The most sample-efficient on smooth low-dimensional spaces, the most expensive per trial.",
            "Snoek, Larochelle & Adams 2012, 'Practical Bayesian optimization of machine learning "
            "algorithms', NeurIPS; Jones, Schonlau & Welch 1998 (expected improvement)",
        ),
        SearcherInfo(
            "cmaes",
            "Evolution strategy (CMA-ES)",
            "Covariance matrix adaptation: samples a generation of 6 points from a Gaussian, keeps "
            "the better half, moves the mean towards them and reshapes the Gaussian (its covariance) "
            "along the directions that paid off. A population that walks and stretches towards the "
            "good region, robust to noise and to bad scaling.",
            "Hansen & Ostermeier 2001, 'Completely derandomized self-adaptation in evolution "
            "strategies', Evolutionary Computation 9(2); Hansen 2016, 'The CMA evolution strategy: "
            "a tutorial', arXiv:1604.00772",
        ),
        SearcherInfo(
            "nsga2",
            "Genetic algorithm (NSGA-II)",
            "A genetic algorithm: a random first generation of 6, then each generation is bred from "
            "the best individuals of the last by crossover (mixing two parents' hyperparameters) "
            "and mutation. With one objective NSGA-II's non-dominated sorting is plain selection of "
            "the fittest.",
            "Deb, Pratap, Agarwal & Meyarivan 2002, 'A fast and elitist multiobjective genetic "
            "algorithm: NSGA-II', IEEE Trans. Evol. Comput. 6(2)",
        ),
    )
}


# --- the search space ------------------------------------------------------------------------------


def searchable(optimizer: str) -> list[str]:
    """Float hyperparameters of ``optimizer`` that can be the second axis: all but lr, and
    none that the optimizer only accepts at its default (Nesterov's dampening must be 0)."""
    opt = base.get(optimizer)
    out = []
    for h in opt.all_hyperparams():
        if h.kind != "float" or h.name == "lr":
            continue
        other = h.ui[1] if h.ui is not None and h.ui[1] != h.default else h.default
        try:
            opt.resolve({h.name: other})
        except ValueError:
            continue
        out.append(h.name)
    return out


def default_param(optimizer: str) -> str:
    """The natural second hyperparameter: momentum, else beta1, else the first searchable one."""
    names = searchable(optimizer)
    for name in ("momentum", "beta1"):
        if name in names:
            return name
    own = [h.name for h in base.get(optimizer).hyperparams if h.name in names]
    return (own or names)[0]


@dataclass(frozen=True)
class SearchSpace:
    """A 2-D box of hyperparameters: the learning rate (log scale) and one more hyperparameter.

    ``lr`` = (low, high) with 0 < low < high; ``param`` names the second hyperparameter of the
    optimizer (momentum, beta1, ...), ``param_range`` = (low, high) with low < high, on a log
    scale if ``param_log``. The ranges are checked here; whether ``param`` exists and both
    ranges are allowed values is checked against an optimizer by ``check``.

    Raises:
        ValueError: a range that is empty, reversed, not finite, or (log scale) not positive.
    """

    lr: tuple[float, float] = (1e-4, 1.0)
    param: str = "beta1"
    param_range: tuple[float, float] = (0.0, 0.99)
    param_log: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _range("lr", self.lr, log=True))
        object.__setattr__(
            self, "param_range", _range(self.param, self.param_range, log=self.param_log)
        )

    @classmethod
    def default_for(cls, optimizer: str) -> SearchSpace:
        """A sensible space for ``optimizer``: lr in [1e-4, 1] and its natural second
        hyperparameter over its slider range (momentum / beta1 in [0, 0.99])."""
        name = default_param(optimizer)
        h = {p.name: p for p in base.get(optimizer).all_hyperparams()}[name]
        low, high = h.ui if h.ui is not None else (h.low, h.high)
        if name in ("momentum", "beta1"):
            low, high = 0.0, 0.99
        try:
            base.get(optimizer).resolve({name: low})
        except ValueError:  # Nesterov needs momentum > 0
            low = 0.01 if high > 0.01 else low
        return cls(param=name, param_range=(low, high), param_log=h.log)

    @property
    def names(self) -> tuple[str, str]:
        return ("lr", self.param)

    def check(self, optimizer: str, fixed: Mapping[str, Any] = ()) -> None:
        """Raise ValueError unless ``optimizer`` exists, has ``param``, and accepts every corner
        of the box (with the ``fixed`` hyperparameters)."""
        opt = base.get(optimizer)  # ValueError for an unknown optimizer
        names = searchable(optimizer)
        if self.param not in names:
            raise ValueError(
                f"unknown hyperparameter {self.param!r} for {optimizer}; "
                f"searchable: lr and one of {', '.join(names)}"
            )
        for lr in self.lr:
            for value in self.param_range:
                opt.resolve({**dict(fixed), "lr": lr, self.param: value})

    def axis(self, which: int, n: int) -> np.ndarray:
        """``n`` grid values along axis 0 (lr, geometric) or 1 (param, geometric if log)."""
        low, high = self.lr if which == 0 else self.param_range
        log = which == 0 or self.param_log
        if n == 1:  # one value: the centre of the range
            return np.array([math.sqrt(low * high) if log else (low + high) / 2])
        out = np.geomspace(low, high, n) if log else np.linspace(low, high, n)
        out[0], out[-1] = low, high
        return out

    def distributions(self) -> dict[str, optuna.distributions.FloatDistribution]:
        return {
            "lr": optuna.distributions.FloatDistribution(*self.lr, log=True),
            self.param: optuna.distributions.FloatDistribution(
                *self.param_range, log=self.param_log
            ),
        }


def _range(name: str, value: Sequence[float], log: bool) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: a range is two numbers (low, high), got {value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{name}: the range [{low:g}, {high:g}] must be finite")
    if not low < high:
        raise ValueError(
            f"{name}: the range [{low:g}, {high:g}] is empty; low must be less than high"
        )
    if log and low <= 0:
        raise ValueError(f"{name}: a log-scale range must be positive, got [{low:g}, {high:g}]")
    return (low, high)


# --- the problem and its objective -----------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One optimizer on one surface: what a hyperparameter setting is judged on.

    ``fixed`` holds hyperparameters that are not searched (the searched ones override them);
    ``start`` None means the landscape's own start. See the module docstring for the objective.

    Raises:
        ValueError: unknown landscape or optimizer, bad landscape parameters or fixed values,
            steps not a positive integer, a start outside the plotted domain.
    """

    landscape: str = "rosenbrock"
    landscape_params: tuple[tuple[str, float], ...] = ()
    optimizer: str = "adam"
    fixed: tuple[tuple[str, float | bool], ...] = ()
    start: tuple[float, float] | None = None
    steps: int = 300
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("landscape_params", "fixed"):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                value = value.items()
            object.__setattr__(self, name, tuple(sorted(value)))
        if self.start is not None:
            object.__setattr__(self, "start", (float(self.start[0]), float(self.start[1])))
        land = self.surface()  # ValueError for an unknown landscape or a bad parameter
        base.get(self.optimizer).resolve(dict(self.fixed))
        if isinstance(self.steps, bool) or int(self.steps) != self.steps or self.steps < 1:
            raise ValueError(f"steps must be a positive integer, got {self.steps!r}")
        if self.start is not None:
            (x0, x1), (y0, y1) = land.domain
            x, y = self.start
            if not (x0 <= x <= x1 and y0 <= y <= y1):
                raise ValueError(
                    f"start ({x:g}, {y:g}) is outside the domain [{x0:g}, {x1:g}] x [{y0:g}, {y1:g}]"
                )

    def surface(self) -> landscapes.Landscape:
        return landscapes.get(self.landscape, **dict(self.landscape_params))

    def start_point(self) -> tuple[float, float]:
        return self.start if self.start is not None else tuple(self.surface().start)

    def minimum_value(self) -> float | None:
        """f*, the surface's global minimum value, or None when none is known (unbounded)."""
        values = [m.value for m in self.surface().minima if m.kind == "global"]
        return min(values) if values else None

    def score(self, losses: np.ndarray, diverged: np.ndarray) -> np.ndarray:
        """Objective values (lower is better) of final losses, diverged runs at the penalty."""
        losses = np.asarray(losses, dtype=np.float64)
        bad = np.asarray(diverged, dtype=bool) | ~np.isfinite(losses)
        fstar = self.minimum_value()
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = (
                np.log10(np.maximum(losses - fstar, FLOOR)) if fstar is not None else losses.copy()
            )
        penalty = self.penalty()
        return np.where(bad, penalty, np.minimum(np.nan_to_num(raw, nan=penalty), penalty))

    def start_loss(self) -> float:
        import torch

        x = torch.tensor([self.start_point()], dtype=torch.float64)
        with torch.no_grad():
            return float(self.surface().fn(x)[0])

    def penalty(self) -> float:
        """The score of a diverged run: the start's score plus one decade (log objective) or plus
        max(1, |f(x_0)|) (raw objective)."""
        f0 = self.start_loss()
        fstar = self.minimum_value()
        if fstar is not None:
            return math.log10(max(f0 - fstar, FLOOR)) + 1.0
        return f0 + max(1.0, abs(f0))

    def objective_text(self) -> str:
        """The objective in words."""
        opt = base.get(self.optimizer).title
        land = self.surface().name
        if self.minimum_value() is not None:
            what = (
                f"log10 of the gap f(x_N) - f* between the loss after N = {self.steps} steps of "
                f"{opt} on {land} and the global minimum value f* = {self.minimum_value():.6g} "
                f"(gaps below 1e-12 count as 1e-12: -12 is a perfect score)"
            )
            pen = f"{self.penalty():.3g} (the start's score plus one decade)"
        else:
            what = (
                f"the loss f(x_N) after N = {self.steps} steps of {opt} on {land} "
                "(no global minimum is known)"
            )
            pen = f"{self.penalty():.4g} (the start's loss plus max(1, |f(x_0)|))"
        return f"Lower is better: {what}. A run that diverges scores {pen}; no score is worse."

    def evaluate(
        self, space: SearchSpace, lrs: np.ndarray, values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores, final losses and divergence flags of the settings (lrs[k], values[k]), all
        in one batched ``simulate`` call (the hyperparameters are swept as 1-D arrays).

        The call is padded with sentinel runs (the space's corners) to a multiple of
        ``PAD_RUNS`` runs: every run then goes through torch's vectorised kernels and the update
        rules' general per-run branch, so a setting's score does not depend on which other
        settings share the call (bit for bit), and a searcher run alone gives the same trials
        as with others. Unpadded, a lone run can differ in the last bits, which 100 steps can
        amplify to ~1e-8."""
        lrs = np.asarray(lrs, dtype=np.float64).ravel()
        values = np.asarray(values, dtype=np.float64).ravel()
        if lrs.size == 0:
            empty = np.zeros(0)
            return empty, empty, np.zeros(0, dtype=bool)
        n = lrs.size
        pad = (-(n + 2)) % PAD_RUNS + 2  # at least the two distinct sentinels
        lo, hi = np.array(space.lr), np.array(space.param_range)
        hp = {
            **dict(self.fixed),
            "lr": np.concatenate([lrs, np.resize(lo, pad)]),
            space.param: np.concatenate([values, np.resize(hi, pad)]),
        }
        result = simulate(
            self.surface(),
            [(self.optimizer, hp)],
            starts=[self.start_point()],
            steps=self.steps,
            seed=self.seed,
            record="final",
        )
        losses = result.final_losses[:n, 0]
        diverged = (result.status[:n, 0] == "diverged") | ~np.isfinite(losses)
        return self.score(losses, diverged), losses, diverged


# --- a small network as the problem ----------------------------------------------------------------

NET_MAX_SAMPLES = 5000
NET_MAX_LAYERS = 4
NET_MAX_WIDTH = 256
NET_MAX_STEPS = 2000


@functools.lru_cache(maxsize=8)
def _network_setup(
    dataset: str, n_samples: int, noise: float, widths: tuple[int, ...], seed: int
) -> tuple[Any, Any, float]:
    """(data set, seeded model, initial validation loss) of a network problem, built once."""
    from landscapes import network as nw

    from .training import train

    data = nw.load_dataset(dataset, n_samples=n_samples, noise=noise, seed=seed)
    model = nw.build_model("mlp", data, widths=widths, seed=seed)
    start = train(model, _cross_entropy, data, [("sgd", {"lr": 0.0})], steps=0)
    return data, model, float(start.val_loss[0, -1])


def _cross_entropy(outputs, targets):
    import torch.nn.functional as F

    return F.cross_entropy(outputs, targets)


@dataclass(frozen=True)
class NetworkProblem:
    """One optimizer training a small MLP classifier: a hyperparameter setting is judged on the
    validation loss it reaches.

    The objective of a setting is

        J(lr, h) = log10(L_val(theta_N)),

    the log of the validation cross-entropy after N = ``steps`` optimizer steps from ONE
    initialization theta_0 (``build_model("mlp", ..., seed=seed)``), every run seeing the same
    mini-batches (``batch_size`` None: full batch). A run that diverges (``train``'s flag: a
    non-finite loss or parameters, or a loss above 1e6 x the initial one), or ends non-finite,
    scores the penalty P = log10(L_val(theta_0)) + 1, "ten times worse than not training at all";
    no score is worse than P. A batch of settings is ONE batched ``studies.training.train`` call
    (the hyperparameters are swept as 1-D arrays). Same interface as ``Problem`` for the searchers.

    Raises:
        ValueError: unknown data set or optimizer, an optimizer with a dense Hessian (newton,
            bfgs), n_samples outside [20, 5000], noise not in [0, 10], widths not 1 to 4
            integers in [1, 256], steps outside [1, 2000], batch_size not None or >= 1.
    """

    dataset: str = "moons"
    n_samples: int = 300
    noise: float = 0.2
    widths: tuple[int, ...] = (16, 16)
    optimizer: str = "adam"
    fixed: tuple[tuple[str, float | bool], ...] = ()
    steps: int = 100
    batch_size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        from landscapes.network import DATASETS

        from .training import DENSE

        fixed = self.fixed.items() if isinstance(self.fixed, Mapping) else self.fixed
        object.__setattr__(self, "fixed", tuple(sorted(fixed)))
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown data set {self.dataset!r}; available: {', '.join(DATASETS)}")
        opt = base.get(self.optimizer)  # ValueError for an unknown optimizer
        if self.optimizer in DENSE or opt.needs:
            raise ValueError(
                f"optimizer {self.optimizer!r} needs Hessians or extra evaluations: not available "
                "for networks; use a first-order method"
            )
        opt.resolve(dict(self.fixed))
        _positive_int("n_samples", self.n_samples, 20, NET_MAX_SAMPLES)
        if not isinstance(self.noise, (int, float)) or not (
            math.isfinite(self.noise) and 0 <= self.noise <= 10
        ):
            raise ValueError(f"noise must be a number in [0, 10], got {self.noise!r}")
        try:
            widths = tuple(self.widths)
        except TypeError:
            raise ValueError(
                f"widths must be a sequence of integers, got {self.widths!r}"
            ) from None
        if not 1 <= len(widths) <= NET_MAX_LAYERS:
            raise ValueError(f"widths: 1 to {NET_MAX_LAYERS} hidden layers, got {widths!r}")
        for w in widths:
            _positive_int("a hidden width", w, 1, NET_MAX_WIDTH)
        object.__setattr__(self, "widths", tuple(int(w) for w in widths))
        object.__setattr__(self, "n_samples", int(self.n_samples))
        object.__setattr__(self, "noise", float(self.noise))
        _positive_int("steps", self.steps, 1, NET_MAX_STEPS)
        if self.batch_size is not None:
            _positive_int("batch_size", self.batch_size, 1, NET_MAX_SAMPLES)
        _positive_int("seed", self.seed, 0, 2**31 - 1)

    def setup(self) -> tuple[Any, Any, float]:
        """(data set, model at theta_0, initial validation loss), cached per data/model."""
        return _network_setup(self.dataset, self.n_samples, self.noise, self.widths, self.seed)

    def start_loss(self) -> float:
        """L_val(theta_0): the validation loss before training."""
        return self.setup()[2]

    def penalty(self) -> float:
        """The score of a diverged run: log10 of the initial validation loss plus one decade."""
        return math.log10(max(self.start_loss(), FLOOR)) + 1.0

    def score(self, losses: np.ndarray, diverged: np.ndarray) -> np.ndarray:
        """log10 of final validation losses (lower is better), diverged runs at the penalty."""
        losses = np.asarray(losses, dtype=np.float64)
        bad = np.asarray(diverged, dtype=bool) | ~np.isfinite(losses)
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = np.log10(np.maximum(losses, FLOOR))
        penalty = self.penalty()
        return np.where(bad, penalty, np.minimum(np.nan_to_num(raw, nan=penalty), penalty))

    def describe(self) -> str:
        """The network in words, e.g. "an MLP 2-16-16-2 on moons (300 samples, noise 0.2)"."""
        data = self.setup()[0]
        layers = "-".join(str(v) for v in (data.n_features, *self.widths, data.n_classes))
        size = "1797 samples" if self.dataset == "digits" else f"{self.n_samples} samples"
        noise = "" if self.dataset == "digits" else f", noise {self.noise:g}"
        return f"an MLP {layers} on {self.dataset} ({size}{noise})"

    def objective_text(self) -> str:
        """The objective in words."""
        opt = base.get(self.optimizer).title
        batch = "full batch" if self.batch_size is None else f"mini-batches of {self.batch_size}"
        return (
            f"Lower is better: log10 of the validation cross-entropy after N = {self.steps} steps "
            f"of {opt} ({batch}) training {self.describe()} from one fixed initialization "
            f"(seed {self.seed}); every run sees the same mini-batches. Before training the "
            f"validation loss is {self.start_loss():.4g} (score {self.penalty() - 1:.3g}). "
            f"A run that diverges scores {self.penalty():.3g} (that plus one decade); "
            "no score is worse."
        )

    def evaluate(
        self, space: SearchSpace, lrs: np.ndarray, values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores, final validation losses and divergence flags of the settings (lrs[k],
        values[k]), all in ONE batched ``train`` call (hyperparameters swept as 1-D arrays),
        padded with sentinel runs to a multiple of ``PAD_RUNS`` as ``Problem.evaluate`` is, so a
        setting's score does not depend on which settings share the call."""
        from .training import train

        lrs = np.asarray(lrs, dtype=np.float64).ravel()
        values = np.asarray(values, dtype=np.float64).ravel()
        if lrs.size == 0:
            empty = np.zeros(0)
            return empty, empty, np.zeros(0, dtype=bool)
        n = lrs.size
        pad = (-(n + 2)) % PAD_RUNS + 2
        lo, hi = np.array(space.lr), np.array(space.param_range)
        hp = {
            **dict(self.fixed),
            "lr": np.concatenate([lrs, np.resize(lo, pad)]),
            space.param: np.concatenate([values, np.resize(hi, pad)]),
        }
        data, model, _ = self.setup()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = train(
                model,
                _cross_entropy,
                data,
                [(self.optimizer, hp)],
                steps=self.steps,
                batch_size=self.batch_size,
                seed=self.seed,
                record_every=self.steps,
            )
        losses = result.val_loss[:n, -1]
        diverged = result.diverged[:n] | ~np.isfinite(losses)
        return self.score(losses, diverged), losses, diverged


def _positive_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


# --- the dense objective ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DenseObjective:
    """The objective on a ``resolution`` x ``resolution`` grid: ``values[j, i]`` is the score at
    ``lrs[i]``, ``params[j]`` (axis 1 first, as a heatmap's z)."""

    lrs: np.ndarray
    params: np.ndarray
    values: np.ndarray
    losses: np.ndarray
    diverged: np.ndarray
    param: str
    objective: str

    def percentile(self, q: float) -> float:
        """The q-th percentile of the map's scores (``percentile(5)``: the top-5 % threshold)."""
        return float(np.percentile(self.values, q))

    @property
    def best(self) -> tuple[float, float, float]:
        """(lr, param value, score) of the best grid point."""
        j, i = np.unravel_index(int(np.argmin(self.values)), self.values.shape)
        return float(self.lrs[i]), float(self.params[j]), float(self.values[j, i])


def dense_objective(
    problem: Problem | NetworkProblem, space: SearchSpace, resolution: int = 41
) -> DenseObjective:
    """The objective on a fine grid of the space (log-spaced lr), as ONE batched simulate call.

    Raises:
        ValueError: a bad space for the problem's optimizer, resolution not in [2, 201].
    """
    if isinstance(resolution, bool) or int(resolution) != resolution:
        raise ValueError(f"resolution must be an integer, got {resolution!r}")
    if not 2 <= resolution <= MAX_RESOLUTION:
        raise ValueError(f"resolution must be in [2, {MAX_RESOLUTION}], got {resolution}")
    space.check(problem.optimizer, dict(problem.fixed))
    lrs, params = space.axis(0, resolution), space.axis(1, resolution)
    lr_grid, param_grid = np.meshgrid(lrs, params)  # [j, i] = (lrs[i], params[j])
    scores, losses, diverged = problem.evaluate(space, lr_grid.ravel(), param_grid.ravel())
    shape = (resolution, resolution)
    return DenseObjective(
        lrs,
        params,
        scores.reshape(shape),
        losses.reshape(shape),
        diverged.reshape(shape),
        space.param,
        problem.objective_text(),
    )


# --- the searchers ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SearchResult:
    """One searcher's trials, in the order it asked for them (numpy arrays, n trials).

    ``params`` (n, 2): learning rate and second hyperparameter; ``values`` (n,): scores;
    ``losses``, ``diverged`` (n,); ``batch`` (n,): the evaluation round of each trial (trials of
    one round were asked before any of them was told); ``best_so_far`` (n,): the running
    minimum of ``values``; ``best_index``: the first trial reaching the minimum.
    """

    searcher: str
    title: str
    description: str
    batching: str
    names: tuple[str, str]
    params: np.ndarray
    values: np.ndarray
    losses: np.ndarray
    diverged: np.ndarray
    batch: np.ndarray
    best_so_far: np.ndarray
    budget: int
    seed: int

    @property
    def best_index(self) -> int:
        return int(np.argmin(self.values))

    @property
    def best_params(self) -> dict[str, float]:
        lr, value = self.params[self.best_index]
        return {self.names[0]: float(lr), self.names[1]: float(value)}

    @property
    def best_value(self) -> float:
        return float(self.values[self.best_index])

    @property
    def improvements(self) -> np.ndarray:
        """Indices of the trials that beat every trial before them (the first included)."""
        if self.values.size == 0:
            return np.zeros(0, dtype=np.int64)
        before = np.concatenate([[np.inf], self.best_so_far[:-1]])
        return np.flatnonzero(self.values < before)


def grid_shape(budget: int) -> tuple[int, int]:
    """(n_lr, n_param) of the largest near-square grid with n_lr * n_param <= budget."""
    a = max(1, math.isqrt(budget))
    return (a + 1, a) if a * (a + 1) <= budget else (a, a)


class _GridSampler(optuna.samplers.GridSampler):
    """Optuna's GridSampler without its end-of-grid ``study.stop()``, which is only allowed
    inside ``study.optimize``; with ask-and-tell the driver stops after the last grid point."""

    def after_trial(self, study, trial, state, values) -> None:
        return None


CMA_POPSIZE = 4 + math.floor(3 * math.log(2))  # CMA-ES's default population in 2-D: 6


@dataclass
class _Driver:
    """One searcher's Optuna study, advanced one batch at a time (ask a batch, then tell it)."""

    key: str
    space: SearchSpace
    budget: int
    seed: int
    batch_size: int
    study: optuna.Study = field(init=False)
    pending: list[optuna.Trial] = field(default_factory=list)
    rows: list[tuple[float, float, float, float, bool, int]] = field(default_factory=list)
    rounds: int = 0
    limit: int = field(init=False)

    def __post_init__(self) -> None:
        self.limit = self.budget
        if self.key == "grid":
            n_lr, n_p = grid_shape(self.budget)
            self.limit = n_lr * n_p
            grid = {
                "lr": self.space.axis(0, n_lr).tolist(),
                self.space.param: self.space.axis(1, n_p).tolist(),
            }
            sampler: optuna.samplers.BaseSampler = _GridSampler(grid, seed=self.seed)
        elif self.key == "random":
            sampler = optuna.samplers.RandomSampler(seed=self.seed)
        elif self.key == "tpe":
            sampler = optuna.samplers.TPESampler(
                seed=self.seed, n_startup_trials=STARTUP, constant_liar=True
            )
        elif self.key == "gp":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                sampler = optuna.samplers.GPSampler(
                    seed=self.seed,
                    n_startup_trials=STARTUP,
                    deterministic_objective=True,
                    warn_independent_sampling=False,
                )
        elif self.key == "cmaes":
            sampler = optuna.samplers.CmaEsSampler(
                seed=self.seed, popsize=CMA_POPSIZE, warn_independent_sampling=False
            )
        elif self.key == "nsga2":
            # seed + 1: with the same seed, its random first generation and its mutations (fresh
            # uniform draws) would replay random search's draws trial for trial
            sampler = optuna.samplers.NSGAIISampler(population_size=POPULATION, seed=self.seed + 1)
        else:
            raise ValueError(f"unknown searcher {self.key!r}; available: {', '.join(SEARCHERS)}")
        self.study = optuna.create_study(direction="minimize", sampler=sampler)

    @property
    def done(self) -> bool:
        return len(self.rows) >= self.limit

    def next_size(self) -> int:
        """How many trials the next batch asks for (see the module docstring)."""
        n = len(self.rows)
        if self.key in ("grid", "random"):
            size = self.limit
        elif self.key in ("tpe", "gp"):
            size = STARTUP if n < STARTUP else self.batch_size
            size = min(size, STARTUP - n) if n < STARTUP else size
        elif self.key == "cmaes":
            size = 1 if n == 0 else CMA_POPSIZE  # one random start-up trial, then generations
        else:
            size = POPULATION
        return max(0, min(size, self.limit - n))

    def ask(self) -> tuple[np.ndarray, np.ndarray]:
        dists = self.space.distributions()
        self.pending = [self.study.ask(dists) for _ in range(self.next_size())]
        lrs = np.array([t.params["lr"] for t in self.pending])
        values = np.array([t.params[self.space.param] for t in self.pending])
        return lrs, values

    def tell(self, scores: np.ndarray, losses: np.ndarray, diverged: np.ndarray) -> None:
        for trial, s, loss, bad in zip(self.pending, scores, losses, diverged, strict=True):
            self.study.tell(trial, float(s))
            self.rows.append(
                (
                    trial.params["lr"],
                    trial.params[self.space.param],
                    float(s),
                    float(loss),
                    bool(bad),
                    self.rounds,
                )
            )
        self.pending = []
        self.rounds += 1

    def result(self, batching: str) -> SearchResult:
        info = SEARCHER_INFO[self.key]
        rows = self.rows
        values = np.array([r[2] for r in rows])
        return SearchResult(
            searcher=self.key,
            title=info.title,
            description=info.description,
            batching=batching,
            names=self.space.names,
            params=np.array([(r[0], r[1]) for r in rows]).reshape(-1, 2),
            values=values,
            losses=np.array([r[3] for r in rows]),
            diverged=np.array([r[4] for r in rows], dtype=bool),
            batch=np.array([r[5] for r in rows], dtype=np.int64),
            best_so_far=np.minimum.accumulate(values) if len(values) else values,
            budget=self.budget,
            seed=self.seed,
        )


def batching_text(searcher: str, batch: int) -> str:
    """How ``searcher`` is batched, in one sentence."""
    if searcher in ("grid", "random"):
        return "All trials at once: they do not depend on results (same as one at a time)."
    if searcher == "cmaes":
        return (
            f"One random start-up trial, then one generation of {CMA_POPSIZE} per batch "
            "(same as one at a time)."
        )
    if searcher == "nsga2":
        return f"One generation of {POPULATION} per batch (same as one at a time)."
    if batch == 1:
        return f"{STARTUP} random start-up trials at once, then one trial at a time (sequential)."
    liar = (
        "trials of a batch count as bad results until told (constant liar)"
        if searcher == "tpe"
        else "the model conditions on the trials still running"
    )
    return (
        f"{STARTUP} random start-up trials at once, then {batch} per batch: {liar}, "
        "a little less sample-efficient than one at a time."
    )


def _check_settings(searchers: Sequence[str], budget: int, seed: int, batch: int) -> None:
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)):
        raise ValueError(f"budget must be an integer number of trials, got {budget!r}")
    if not 1 <= budget <= MAX_BUDGET:
        raise ValueError(f"budget must be between 1 and {MAX_BUDGET} trials, got {budget}")
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not searchers:
        raise ValueError(f"no searcher given; available: {', '.join(SEARCHERS)}")
    for s in searchers:
        if s not in SEARCHERS:
            raise ValueError(f"unknown searcher {s!r}; available: {', '.join(SEARCHERS)}")
    if len(set(searchers)) != len(searchers):
        raise ValueError(f"a searcher is listed twice: {list(searchers)}")


def run_searches(
    problem: Problem | NetworkProblem,
    space: SearchSpace,
    searchers: Sequence[str] = SEARCHERS,
    budget: int = 50,
    seed: int = 0,
    batch: int = 1,
) -> dict[str, SearchResult]:
    """Run several searchers with the same budget and seed, in lockstep: each round asks every
    unfinished searcher for its next batch and evaluates all of them in one simulate call.

    Args:
        problem: the optimizer, surface, start and number of steps that define the objective.
        space: the learning-rate range and the second hyperparameter's range.
        searchers: keys of ``SEARCHERS``.
        budget: trials per searcher (grid search uses the largest grid that fits).
        seed: every sampler's seed.
        batch: trials per batch of TPE and GP after their start-up (1: sequential).

    Raises:
        ValueError: budget outside [1, MAX_BUDGET], an unknown or repeated searcher, a bad
            space for the problem's optimizer.
    """
    searchers = list(searchers)
    _check_settings(searchers, budget, seed, batch)
    space.check(problem.optimizer, dict(problem.fixed))
    drivers = [_Driver(s, space, int(budget), int(seed), int(batch)) for s in searchers]
    while not all(d.done for d in drivers):
        active = [d for d in drivers if not d.done]
        asked = [d.ask() for d in active]
        lrs = np.concatenate([a[0] for a in asked])
        values = np.concatenate([a[1] for a in asked])
        scores, losses, diverged = problem.evaluate(space, lrs, values)
        lo = 0
        for d, (a_lr, _) in zip(active, asked, strict=True):
            hi = lo + len(a_lr)
            d.tell(scores[lo:hi], losses[lo:hi], diverged[lo:hi])
            lo = hi
    return {d.key: d.result(batching_text(d.key, int(batch))) for d in drivers}


def run_search(
    problem: Problem | NetworkProblem,
    space: SearchSpace,
    searcher: str,
    budget: int = 50,
    seed: int = 0,
    batch: int = 1,
) -> SearchResult:
    """One searcher's search (see ``run_searches``); the same trials as when run with others."""
    return run_searches(problem, space, [searcher], budget, seed, batch)[searcher]


__all__ = [
    "MAX_BUDGET",
    "SEARCHERS",
    "SEARCHER_INFO",
    "DenseObjective",
    "NetworkProblem",
    "Problem",
    "SearchResult",
    "SearchSpace",
    "SearcherInfo",
    "batching_text",
    "default_param",
    "dense_objective",
    "grid_shape",
    "run_search",
    "run_searches",
    "searchable",
]
