"""Teaching diagnostics built on the batched runner: learning-rate sweeps, basins of attraction,
quadratic stability theory, heavy-ball convergence-rate maps, local curvature and auto-tuning.

Everything returns numpy arrays in small dataclasses, so the app (and a notebook) only renders.

Theory used (f = 1/2 x^T A x, eigenvalues 0 < lambda_min <= lambda_max of A):

- gradient descent x_{k+1} = x_k - lr A x_k contracts eigen-direction i by |1 - lr lambda_i|:
  it converges iff lr < 2 / lambda_max, fastest at lr* = 2 / (lambda_min + lambda_max) with rate
  (kappa - 1) / (kappa + 1), kappa = lambda_max / lambda_min (Nocedal & Wright 2006, thm 3.3;
  Goodfellow et al. 2016, 4.3.1).
- heavy-ball momentum x_{k+1} = x_k - lr grad + beta (x_k - x_{k-1}) (Polyak 1964; torch's SGD
  momentum is the same iteration) acts on eigen-direction i through the companion matrix
  M_i = [[1 + beta - lr lambda_i, -beta], [1, 0]], whose eigenvalues z solve
  z^2 - (1 + beta - lr lambda_i) z + beta = 0. It converges iff 0 <= beta < 1 and
  0 < lr lambda_max < 2 + 2 beta; the rate is the spectral radius max_i rho(M_i) (Goh 2017,
  "Why momentum really works", Distill; Polyak 1964). Optimal: lr = 4 / (sqrt(lambda_max) +
  sqrt(lambda_min))^2, beta = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2, rate sqrt(beta).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from landscapes.base import hessian
from optimizers import SpecLike, simulate, spec_parts
from optimizers import get as get_optimizer

DIVERGED = -1  # basin label: the run blew up
NOT_CONVERGED = -2  # basin label: the run did not settle at a known minimum
CONVERGES, OSCILLATES, DIVERGES = 0, 1, 2  # momentum_rate_map regimes
REGIMES = ("converges", "oscillates", "diverges")
Objective = Literal["final_loss", "steps"]
OBJECTIVES: dict[str, str] = {
    "final_loss": "lowest final loss after {steps} steps (ties: fewest steps to converge)",
    "steps": "fewest steps to converge (ties: lowest final loss)",
}


# --- learning-rate sweep ----------------------------------------------------------------------


@dataclass
class SweepResult:
    """A learning-rate sweep: arrays indexed [optimizer, lr] (O optimizers, L learning rates).

    Attributes:
        names, labels: optimizer registry names and display labels (without the lr), length O.
        lrs: (L,) learning rates, ascending.
        final_loss: (O, L) loss after ``steps`` steps (NaN/inf where it blew up).
        final_position: (O, L, 2) the point reached.
        steps_to_converge: (O, L) first step from which the run stays within ``tol`` domain
            diagonals of the known minimum it ends at; -1 where it does not settle at one.
        diverged: (O, L) True where the run diverged: it blew up (``diverged_at`` >= 0) or ended
            with a loss above its start's (unstable, not yet out of the runner's escape radius).
        diverged_at: (O, L) step at which it blew up (the runner's test), -1 if never.
        status: (O, L) runner status names.
        minimum: (O, L) index into the landscape's minima reached, -1 if none.
        threshold: (O,) smallest learning rate of the sweep that diverged (NaN: none did).
        last_stable: (O,) largest learning rate below ``threshold`` that did not diverge (NaN:
            none).
        best_index, best_lr: (O,) the best learning rate by ``objective`` (-1 / NaN if every run
            diverged).
        objective: the objective's key; ``objective_text`` says it in words.
        steps, start, seed: the run's settings.
    """

    names: list[str]
    labels: list[str]
    lrs: np.ndarray
    final_loss: np.ndarray
    final_position: np.ndarray
    steps_to_converge: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    status: np.ndarray
    minimum: np.ndarray
    threshold: np.ndarray
    last_stable: np.ndarray
    best_index: np.ndarray
    best_lr: np.ndarray
    objective: str
    objective_text: str
    steps: int
    start: tuple[float, float]
    seed: int


def log_lrs(low: float, high: float, count: int) -> np.ndarray:
    """``count`` learning rates evenly spaced in log between ``low`` and ``high`` (both > 0)."""
    if not (0 < low < high) or not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"need 0 < low < high, got low={low!r}, high={high!r}")
    if int(count) != count or count < 2:
        raise ValueError(f"count must be an integer >= 2, got {count!r}")
    return np.geomspace(low, high, int(count))


def _with_lrs(specs: Sequence[SpecLike], lrs: np.ndarray) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for spec in specs:
        name, hp, _ = spec_parts(spec)
        out.append((name, {**hp, "lr": np.asarray(lrs, dtype=np.float64)}))
    return out


def settle_step(
    positions: np.ndarray, minimum: np.ndarray, minima: np.ndarray, radius: float
) -> np.ndarray:
    """First step from which every recorded position lies within ``radius`` of the minimum
    ``minimum`` reached (positions (..., T+1, 2), minimum (...) indices, minima (M, 2)); -1 where
    no minimum is reached."""
    out = np.full(minimum.shape, -1, dtype=np.int64)
    ok = minimum >= 0
    if not ok.any() or len(minima) == 0:
        return out
    target = minima[np.where(ok, minimum, 0)]  # (..., 2)
    with np.errstate(invalid="ignore", over="ignore"):
        far = ~(np.linalg.norm(positions - target[..., None, :], axis=-1) <= radius)  # (..., T+1)
    t1 = far.shape[-1]
    last_far = t1 - 1 - np.argmax(far[..., ::-1], axis=-1)  # index of the last far point
    settled = np.where(far.any(-1), last_far + 1, 0)
    out[ok] = settled[ok]
    out[ok & (settled >= t1)] = -1
    return out


def _best(
    final_loss: np.ndarray, steps_to: np.ndarray, diverged: np.ndarray, objective: str
) -> np.ndarray:
    """Index of the best learning rate per row (-1 where every run diverged)."""
    best = np.full(final_loss.shape[0], -1, dtype=np.int64)
    for o in range(final_loss.shape[0]):
        ok = ~diverged[o] & np.isfinite(final_loss[o])
        if not ok.any():
            continue
        idx = np.nonzero(ok)[0]
        loss = final_loss[o, idx]
        steps = np.where(steps_to[o, idx] >= 0, steps_to[o, idx], np.iinfo(np.int64).max)
        # losses equal to within rounding count as ties
        floor = loss.min() + 1e-12 * (1.0 + abs(loss.min()))
        tied_loss = np.where(loss <= floor, -np.inf, loss)
        if objective == "steps":
            order = np.lexsort((loss, steps))
        else:
            order = np.lexsort((loss, steps, tied_loss))
        best[o] = idx[order[0]]
    return best


def lr_sweep(
    landscape: Any,
    specs: Sequence[SpecLike],
    start: Sequence[float] | None,
    lrs: Sequence[float] | np.ndarray,
    steps: int,
    *,
    seed: int = 0,
    objective: Objective = "final_loss",
    tol: float = 1e-3,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
) -> SweepResult:
    """Run every optimizer of ``specs`` at every learning rate of ``lrs`` from ``start``.

    One batched ``simulate`` call (each spec's ``lr`` becomes the swept 1-D array; its other
    hyperparameters are kept), ``record="path"`` for the steps to converge. Every run is exactly
    the single run at that learning rate: the batch only stacks independent runs.

    Args:
        landscape: the surface; ``start`` a point (None: the landscape's start).
        specs: optimizer names, (name, hyperparameters) pairs or Specs (any "lr" is replaced).
        lrs: the learning rates (sorted ascending; > 0).
        objective: "final_loss" or "steps" (see ``OBJECTIVES``) for ``best_lr``.
        tol: convergence radius in domain diagonals for ``steps_to_converge``.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    lr_arr = np.sort(np.asarray(lrs, dtype=np.float64).ravel())
    if lr_arr.size == 0 or not np.isfinite(lr_arr).all() or (lr_arr <= 0).any():
        raise ValueError("learning rates must be finite and > 0")
    if not specs:
        raise ValueError("no optimizer specs given")
    pt = np.asarray(landscape.start if start is None else start, dtype=np.float64).reshape(2)
    swept = _with_lrs(specs, lr_arr)
    result = simulate(
        landscape, swept, [pt], steps=steps, seed=seed, device=device, dtype=dtype, record="path"
    )
    o, n_lr = len(swept), lr_arr.size
    d = result.diagnosis
    shape = (o, n_lr)
    minima = np.array([[m.x, m.y] for m in getattr(landscape, "minima", ())]).reshape(-1, 2)
    diag = float(np.hypot(*(hi - lo for lo, hi in landscape.domain)))
    minimum = d.minimum[:, 0].reshape(shape)
    positions = result.positions[:, 0].reshape(*shape, steps + 1, 2)
    steps_to = settle_step(positions, minimum, minima, tol * diag)
    final_loss = result.final_losses[:, 0].reshape(shape)
    diverged_at = d.diverged_at[:, 0].reshape(shape)
    start_loss = result.losses[:, 0, 0].reshape(shape)
    with np.errstate(invalid="ignore"):
        # blew up (runner), or unstable but not yet out of the escape radius: ended above its start
        diverged = (diverged_at >= 0) | ~(final_loss <= start_loss)
    threshold = np.full(o, np.nan)
    last_stable = np.full(o, np.nan)
    for i in range(o):
        hit = np.nonzero(diverged[i])[0]
        if hit.size:
            threshold[i] = lr_arr[hit[0]]
            if hit[0] > 0:
                last_stable[i] = lr_arr[hit[0] - 1]
    best = _best(final_loss, steps_to, diverged, objective)
    titles = []
    for spec in specs:
        name, _, label = spec_parts(spec)
        titles.append(label or get_optimizer(name).title)
    return SweepResult(
        names=[spec_parts(s)[0] for s in specs],
        labels=titles,
        lrs=lr_arr,
        final_loss=final_loss,
        final_position=result.final_positions[:, 0].reshape(*shape, 2),
        steps_to_converge=steps_to,
        diverged=diverged,
        diverged_at=diverged_at,
        status=d.status[:, 0].reshape(shape),
        minimum=minimum,
        threshold=threshold,
        last_stable=last_stable,
        best_index=best,
        best_lr=np.where(best >= 0, lr_arr[np.maximum(best, 0)], np.nan),
        objective=objective,
        objective_text=OBJECTIVES[objective].format(steps=steps),
        steps=int(steps),
        start=(float(pt[0]), float(pt[1])),
        seed=int(seed),
    )


# --- auto-tune --------------------------------------------------------------------------------


@dataclass
class TuneResult:
    """Tuned learning rates, one per optimizer, and what was optimised.

    ``description`` states the objective, the search grid, start, steps and seed in words.
    ``sweep`` is the full sweep the choice was made from.
    """

    names: list[str]
    lrs: np.ndarray  # (O,) the chosen lr (NaN where every candidate diverged)
    values: np.ndarray  # (O,) final loss at the chosen lr
    steps_to_converge: np.ndarray  # (O,)
    objective: str
    description: str
    sweep: SweepResult


def auto_tune(
    landscape: Any,
    specs: Sequence[SpecLike],
    start: Sequence[float] | None,
    steps: int,
    *,
    lrs: Sequence[float] | np.ndarray | None = None,
    objective: Objective = "final_loss",
    seed: int = 0,
    device: str | torch.device | None = None,
) -> TuneResult:
    """Pick each optimizer's learning rate by one batched grid search (``lr_sweep``).

    Default grid: 81 log-spaced values in [1e-5, 10]. The choice optimises ``objective`` on this
    one surface from this one start: it says nothing about the optimizer in general.
    """
    grid = log_lrs(1e-5, 10.0, 81) if lrs is None else np.asarray(lrs, dtype=np.float64)
    sweep = lr_sweep(
        landscape, specs, start, grid, steps, seed=seed, objective=objective, device=device
    )
    idx = np.maximum(sweep.best_index, 0)
    rows = np.arange(len(sweep.names))
    ok = sweep.best_index >= 0
    text = (
        f"Objective: {sweep.objective_text}, from ({sweep.start[0]:.4g}, {sweep.start[1]:.4g}), "
        f"seed {seed}, over {sweep.lrs.size} log-spaced learning rates in "
        f"[{sweep.lrs[0]:.3g}, {sweep.lrs[-1]:.3g}]."
    )
    return TuneResult(
        names=sweep.names,
        lrs=np.where(ok, sweep.best_lr, np.nan),
        values=np.where(ok, sweep.final_loss[rows, idx], np.nan),
        steps_to_converge=np.where(ok, sweep.steps_to_converge[rows, idx], -1),
        objective=objective,
        description=text,
        sweep=sweep,
    )


# --- basins of attraction ---------------------------------------------------------------------


@dataclass
class BasinResult:
    """Where each start of a grid ends, per optimizer; arrays [optimizer, row (y), column (x)].

    Attributes:
        names, labels: optimizers (O).
        xs (nx,), ys (ny,): the start grid; start (j, i) is (xs[i], ys[j]).
        label: (O, ny, nx) index into ``minima`` of the minimum reached, ``DIVERGED`` (-1) or
            ``NOT_CONVERGED`` (-2: stalled, oscillating, still moving, or an unlisted minimum).
        end: (O, ny, nx, 2) final points.
        steps: (O, ny, nx) the step at which it diverged (diverged runs) or after which every
            step was shorter than ``settle`` diagonals (-1: still moving at the end).
        status: (O, ny, nx) runner status names.
        minima: (M, 2) the landscape's known minima; ``minima_kind`` (M,) "global"/"local".
    """

    names: list[str]
    labels: list[str]
    xs: np.ndarray
    ys: np.ndarray
    label: np.ndarray
    end: np.ndarray
    steps: np.ndarray
    status: np.ndarray
    minima: np.ndarray
    minima_kind: list[str]
    n_steps: int


def start_grid(domain, grid: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """xs (nx,), ys (ny,) spanning ``domain`` and the (ny * nx, 2) starts, row-major in y."""
    nx, ny = (int(g) for g in grid)
    if nx < 1 or ny < 1:
        raise ValueError(f"grid must be positive, got {grid!r}")
    (x0, x1), (y0, y1) = domain
    xs, ys = np.linspace(x0, x1, nx), np.linspace(y0, y1, ny)
    xx, yy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([xx.ravel(), yy.ravel()], axis=-1)


def basins(
    landscape: Any,
    specs: Sequence[SpecLike],
    grid: tuple[int, int] = (100, 100),
    steps: int = 300,
    *,
    seed: int = 0,
    settle: float = 1e-4,
    window: int = 20,
    domain=None,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
    progress: Callable[[int, int], None] | None = None,
) -> BasinResult:
    """Run every optimizer from every start of an ``nx x ny`` grid and label where it ends.

    One ``simulate`` call per optimizer (``record="final"``: no paths kept, only the final points,
    statuses and the step each run settled). Statuses look at the last ``window`` steps (20: a
    map needs where a run ended, and the 40000 tails of ``simulate``'s default 50 cost more
    to classify than 100 steps do to run). ``progress(done, total)`` is called after each.
    """
    xs, ys, starts = start_grid(domain or landscape.domain, grid)
    if starts.shape[0] > 200 * 200:
        raise ValueError("at most 200 x 200 start points")
    names, titles, labels, ends, stp, stats = [], [], [], [], [], []
    for i, spec in enumerate(specs):
        result = simulate(
            landscape,
            [spec],
            starts,
            steps=steps,
            seed=seed,
            device=device,
            dtype=dtype,
            record="final",
            settle=settle,
            window=window,
        )
        d = result.diagnosis
        lab = np.where(d.minimum[0] >= 0, d.minimum[0], NOT_CONVERGED)
        lab = np.where(d.diverged_at[0] >= 0, DIVERGED, lab)
        names.append(result.specs[0].name)
        titles.append(result.specs[0].label)
        labels.append(lab)
        ends.append(result.final_positions[0])
        stp.append(np.where(d.diverged_at[0] >= 0, d.diverged_at[0], result.settled_at[0]))
        stats.append(d.status[0])
        if progress is not None:
            progress(i + 1, len(specs))
    shape = (len(specs), ys.size, xs.size)
    minima = list(getattr(landscape, "minima", ()))
    return BasinResult(
        names=names,
        labels=titles,
        xs=xs,
        ys=ys,
        label=np.array(labels).reshape(shape),
        end=np.array(ends).reshape(*shape, 2),
        steps=np.array(stp).reshape(shape),
        status=np.array(stats).reshape(shape),
        minima=np.array([[m.x, m.y] for m in minima]).reshape(-1, 2),
        minima_kind=[m.kind for m in minima],
        n_steps=int(steps),
    )


# --- quadratic theory -------------------------------------------------------------------------


@dataclass(frozen=True)
class QuadraticTheory:
    """Stability facts of gradient descent and heavy-ball momentum on f = 1/2 x^T A x."""

    lambda_min: float
    lambda_max: float
    condition: float
    gd_critical_lr: float  # 2 / lambda_max: GD diverges above
    gd_optimal_lr: float  # 2 / (lambda_min + lambda_max)
    gd_optimal_rate: float  # (kappa - 1) / (kappa + 1)
    momentum_optimal_lr: float  # 4 / (sqrt(lambda_max) + sqrt(lambda_min))^2
    momentum_optimal_beta: float  # ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2
    momentum_optimal_rate: float  # sqrt(beta*)

    def momentum_critical_lr(
        self, beta: float | np.ndarray, nesterov: bool = False
    ) -> float | np.ndarray:
        """Largest stable learning rate with momentum beta (0 <= beta < 1): (2 + 2 beta) /
        lambda_max for heavy-ball momentum, (2 + 2 beta) / ((1 + 2 beta) lambda_max) for
        Nesterov's (from the Jury conditions on z^2 - (1+b)(1-a) z + b(1-a), a = lr lambda)."""
        beta = np.asarray(beta)
        bound = (2.0 + 2.0 * beta) / self.lambda_max
        return bound / (1.0 + 2.0 * beta) if nesterov else bound


def quadratic_theory(eigenvalues: Sequence[float] | np.ndarray) -> QuadraticTheory:
    """Critical and optimal steps for a quadratic with Hessian eigenvalues ``eigenvalues`` (> 0)."""
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if lam.size == 0 or not np.isfinite(lam).all() or (lam <= 0).any():
        raise ValueError(f"eigenvalues must be finite and > 0, got {lam.tolist()}")
    lo, hi = float(lam.min()), float(lam.max())
    kappa = hi / lo
    sk = math.sqrt(kappa)
    beta = ((sk - 1) / (sk + 1)) ** 2
    return QuadraticTheory(
        lambda_min=lo,
        lambda_max=hi,
        condition=kappa,
        gd_critical_lr=2.0 / hi,
        gd_optimal_lr=2.0 / (lo + hi),
        gd_optimal_rate=(kappa - 1) / (kappa + 1),
        momentum_optimal_lr=4.0 / (math.sqrt(hi) + math.sqrt(lo)) ** 2,
        momentum_optimal_beta=beta,
        momentum_optimal_rate=math.sqrt(beta),
    )


@dataclass
class RateMap:
    """Heavy-ball (or Nesterov) convergence rate on a grid; arrays [beta, lr] (B x L).

    ``rate`` is the spectral radius max_i rho(M_i) (< 1 converges, the error shrinks by it per
    step); ``regime`` is CONVERGES, OSCILLATES (the slowest mode's eigenvalues are complex or
    negative: the iterate overshoots and swings) or DIVERGES (rate >= 1).
    """

    lrs: np.ndarray
    betas: np.ndarray
    rate: np.ndarray
    regime: np.ndarray
    nesterov: bool = False  # the map of Nesterov momentum instead of heavy-ball


def _radius(t: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spectral radius of a 2x2 iteration with characteristic z^2 - t z + d = 0, and whether its
    dominant eigenvalue is complex or negative (the iterate oscillates)."""
    disc = t * t - 4.0 * d
    root = np.sqrt(np.abs(disc))
    rho = np.where(disc < 0, np.sqrt(np.abs(d)), (np.abs(t) + root) / 2.0)
    return rho, (disc < 0) | (t < 0)


def heavy_ball_radius(
    lr: np.ndarray, beta: np.ndarray, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    """Spectral radius of M = [[1 + beta - lr lam, -beta], [1, 0]] (heavy-ball momentum along an
    eigenvector of curvature lam, Polyak 1964) and whether it oscillates: z^2 - t z + beta = 0."""
    return _radius(1.0 + beta - lr * lam, beta)


def nesterov_radius(lr: np.ndarray, beta: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """The same for Nesterov momentum as torch.optim.SGD runs it (b <- beta b + g,
    x <- x - lr (g + beta b)): M = [[1 - a (1 + beta), -lr beta^2], [lam, beta]], a = lr lam,
    whose characteristic is z^2 - (1 + beta)(1 - a) z + beta (1 - a) = 0 (Sutskever et al. 2013)."""
    a = lr * lam
    return _radius((1.0 + beta) * (1.0 - a), beta * (1.0 - a))


def momentum_rate_map(
    eigenvalues: Sequence[float] | np.ndarray,
    lrs: Sequence[float] | np.ndarray,
    betas: Sequence[float] | np.ndarray,
    *,
    nesterov: bool = False,
) -> RateMap:
    """Convergence rate of heavy-ball (or Nesterov) momentum on a quadratic for every
    (beta, lr) pair: the largest spectral radius over the eigenvalues."""
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    lr = np.asarray(lrs, dtype=np.float64).ravel()
    beta = np.asarray(betas, dtype=np.float64).ravel()
    bb, ll = np.meshgrid(beta, lr, indexing="ij")
    rate = np.zeros(bb.shape)
    osc = np.zeros(bb.shape, dtype=bool)
    radius = nesterov_radius if nesterov else heavy_ball_radius
    for value in lam:
        rho, o = radius(ll, bb, float(value))
        take = rho >= rate
        osc = np.where(take, o, osc)
        rate = np.where(take, rho, rate)
    regime = np.where(rate >= 1.0, DIVERGES, np.where(osc, OSCILLATES, CONVERGES))
    return RateMap(lrs=lr, betas=beta, rate=rate, regime=regime.astype(np.int8), nesterov=nesterov)


# --- local curvature --------------------------------------------------------------------------


@dataclass
class Curvature:
    """The local quadratic model at a point (or at N points: arrays with a leading N axis).

    ``eigenvalues`` ascending and ``eigenvectors`` as columns (numpy.linalg.eigh);
    ``condition`` = |lambda|_max / |lambda|_min (inf where a curvature is 0);
    ``critical_lr`` = 2 / lambda_max (inf where lambda_max <= 0: no step size makes GD overshoot).
    """

    point: np.ndarray
    hessian: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    condition: np.ndarray
    critical_lr: np.ndarray


def curvature_at(landscape: Any, point: Sequence[float] | np.ndarray) -> Curvature:
    """Hessian eigen-decomposition at ``point`` (2,) or at points (N, 2), by autograd (float64)."""
    pts = np.asarray(point, dtype=np.float64)
    if pts.shape[-1] != 2 or pts.ndim > 2:
        raise ValueError(f"point must have shape (2,) or (N, 2), got {pts.shape}")
    fn = getattr(landscape, "fn", landscape)
    h = hessian(fn, torch.as_tensor(pts)).numpy()
    h = 0.5 * (h + np.swapaxes(h, -1, -2))
    finite = np.isfinite(h).all(axis=(-1, -2))
    w, v = np.linalg.eigh(np.where(finite[..., None, None], h, 0.0))
    w = np.where(finite[..., None], w, np.nan)
    a = np.abs(w)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(a.min(-1) > 0, a.max(-1) / a.min(-1), np.inf)
        crit = np.where(w[..., -1] > 0, 2.0 / w[..., -1], np.inf)
    return Curvature(pts, h, w, v, cond, crit)


def quadratic_eigenvalues(landscape: Any, rtol: float = 1e-9) -> np.ndarray | None:
    """The Hessian's eigenvalues (ascending) if ``landscape`` is a positive-definite quadratic
    (its Hessian is the same at the domain's corners and centre), else None."""
    (x0, x1), (y0, y1) = landscape.domain
    pts = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1], [(x0 + x1) / 2, (y0 + y1) / 2]])
    c = curvature_at(landscape, pts)
    h = c.hessian
    if not np.isfinite(h).all():
        return None
    scale = np.abs(h).max() + 1e-300
    if np.abs(h - h[0]).max() > rtol * scale or c.eigenvalues[0, 0] <= 0:
        return None
    return c.eigenvalues[0]


def critical_step(
    lambda_max: np.ndarray | float,
    beta: np.ndarray | float = 0.0,
    nesterov: np.ndarray | bool = False,
) -> np.ndarray:
    """The largest stable step along curvature ``lambda_max``: (2 + 2 beta) / lambda_max for
    heavy-ball momentum beta (2 / lambda_max for plain gradient descent), divided by 1 + 2 beta
    where ``nesterov``; inf where lambda_max <= 0 (no curvature to overshoot)."""
    lam = np.asarray(lambda_max, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    factor = np.where(nesterov, 1.0 / (1.0 + 2.0 * beta), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(lam > 0, (2.0 + 2.0 * beta) * factor / lam, np.inf)


# --- stability verdicts: each method against its own limit ---------------------------------


@dataclass(frozen=True)
class StabilityVerdict:
    """What the local quadratic model at a point says about one run's step, by the stability
    theory of its own method (declared by the optimizer: ``Optimizer.stability``).

    Attributes:
        method: the theory applied, in words ("gradient descent", "heavy-ball momentum β = 0.9",
            "Nesterov momentum β = 0.9", "adaptive (Adam)", "damped Newton", "quasi-Newton
            (BFGS)", or "none").
        rule: the stability condition shown to the user, e.g. "lr < 2/λ_max" ("" where none).
        critical: the largest stable step in the units of ``step`` (NaN where no such step
            applies; inf where there is no positive curvature to overshoot).
        step: the run's step compared with ``critical``: the learning rate in force (SGD's rule,
            Newton, quasi-Newton) or the largest per-coordinate step (adaptive methods); NaN
            where unknown.
        rate: the factor by which the error along the steep axis changes per step on the local
            quadratic (the spectral radius of the iteration there; NaN where the theory gives
            none). Above 1 it grows.
        overshoots: the statement says the step overshoots (never for a converged run).
        text: the statement.
    """

    method: str
    rule: str
    critical: float
    step: float
    rate: float
    overshoots: bool
    text: str


def _largest(row: Sequence[float] | np.ndarray | None) -> float:
    a = np.asarray([] if row is None else row, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    return float(a.max()) if a.size else math.nan


def _sgd_verdict(hp: dict, lam: np.ndarray, status: str, step: float) -> StabilityVerdict:
    """Gradient descent, heavy-ball or Nesterov momentum (torch.optim.SGD's rule) on the local
    quadratic: weight decay adds ``weight_decay`` to every curvature; dampening tau scales the
    gradient entering the buffer by 1 - tau (so the step acts as lr (1 - tau))."""
    beta = float(hp.get("momentum", 0.0))
    nesterov = bool(hp.get("nesterov", False)) and beta > 0
    gain = 1.0 - float(hp.get("dampening", 0.0)) if beta > 0 else 1.0
    lam_max = float(lam[-1]) + float(hp.get("weight_decay", 0.0))
    if beta == 0:
        method, bound, rule = "gradient descent", 2.0, "lr < 2/λ_max"
    elif nesterov:
        method, bound = f"Nesterov momentum β = {beta:.3g}", (2 + 2 * beta) / (1 + 2 * beta)
        rule = f"lr < (2+2β)/((1+2β)λ_max), β = {beta:.3g}"
    else:
        method, bound = f"heavy-ball momentum β = {beta:.3g}", 2 + 2 * beta
        rule = f"lr < (2+2β)/λ_max, β = {beta:.3g}"
    if gain != 1.0:
        rule += f", dampening {1 - gain:.3g}"
    if lam_max <= 0:
        text = "no positive curvature here: nothing to overshoot (a saddle's or a maximum's axes)"
        return StabilityVerdict(method, rule, math.inf, step, math.nan, False, text)
    critical = bound / (gain * lam_max)
    radius = nesterov_radius if nesterov else heavy_ball_radius
    rho, swings = (float(np.asarray(v)) for v in radius(step * gain, beta, lam_max))
    if not math.isfinite(step):
        text = f"critical step {critical:.3g}; the run's step is not known here"
        return StabilityVerdict(method, rule, critical, step, math.nan, False, text)
    if step >= critical and status == "converged":
        text = (
            f"the step {step:.3g} is above this point's critical step {critical:.3g}, yet the run "
            "converged: the local quadratic model at this point does not hold for the whole run "
            "(no overshoot verdict)"
        )
        return StabilityVerdict(method, rule, critical, step, rho, False, text)
    if step >= critical:
        text = (
            f"step {step:.3g} above the critical step {critical:.3g}: along the steep axis the "
            f"error grows {rho:.3g}× per step, it overshoots"
        )
        return StabilityVerdict(method, rule, critical, step, rho, True, text)
    how = "swinging across the steep axis" if swings else "without swinging"
    text = (
        f"stable: step {step:.3g} below the critical step {critical:.3g}; along the steep axis "
        f"the error shrinks {rho:.3g}× per step, {how}"
    )
    return StabilityVerdict(method, rule, critical, step, rho, False, text)


def _newton_verdict(hp: dict, lam: np.ndarray, status: str, lr: float) -> StabilityVerdict:
    """Damped Newton x <- x - lr H^-1 g (curvatures |lambda| or clipped at ``damping``): on a
    quadratic with every curvature above the floor the error is multiplied by 1 - lr per step,
    whatever lambda_max: stable iff 0 < lr < 2, one step at lr = 1."""
    method = "damped Newton"
    floor = float(hp.get("damping", 0.0))
    if bool(hp.get("line_search", False)):
        text = (
            "a backtracking line search picks each step so that the loss decreases enough "
            "(Armijo): no overshoot verdict, and no λ_max bound (Newton divides by the curvature)"
        )
        return StabilityVerdict(method, "Armijo line search", math.nan, lr, math.nan, False, text)
    rule = "0 < lr < 2 (no λ_max bound)"
    if lam[0] < 0:
        how = (
            "divides by |λ| there (saddle-free), so it goes downhill along that axis"
            if bool(hp.get("saddle_free", True))
            else f"clips the curvature to the floor {floor:.3g} there, so it takes a long step "
            "downhill along that axis"
        )
        text = (
            f"negative curvature λ_min = {lam[0]:.3g} here: a pure Newton step would go toward "
            f"the saddle or maximum along that axis; this one {how}"
        )
        return StabilityVerdict(method, rule, math.nan, lr, math.nan, False, text)
    if lam[0] < floor:
        text = (
            f"nearly flat axis (λ_min = {lam[0]:.3g} below the floor {floor:.3g}): the step "
            f"along it is lr × gradient / {floor:.3g}, not the local model's minimum"
        )
        return StabilityVerdict(method, rule, math.nan, lr, math.nan, False, text)
    rho = abs(1.0 - lr)
    if lr >= 2.0 and status != "converged":
        text = (
            f"lr = {lr:.3g} ≥ 2: the damped Newton step overshoots the local model's minimum, "
            f"the error grows {rho:.3g}× per step"
        )
        return StabilityVerdict(method, rule, 2.0, lr, rho, True, text)
    if lr >= 2.0:
        text = (
            f"lr = {lr:.3g} ≥ 2 is unstable on this point's quadratic model, yet the run "
            "converged (no overshoot verdict)"
        )
        return StabilityVerdict(method, rule, 2.0, lr, rho, False, text)
    text = (
        f"stable: Newton divides by the curvature, so on the local quadratic the error is "
        f"multiplied by |1 − lr| = {rho:.3g} per step whatever λ_max (stable for 0 < lr < 2; "
        "lr = 1 lands on the model's minimum)"
    )
    return StabilityVerdict(method, rule, 2.0, lr, rho, False, text)


def stability_verdict(
    name: str,
    hyperparams: Mapping[str, Any],
    eigenvalues: Sequence[float] | np.ndarray,
    *,
    status: str = "moving",
    effective_lr: Sequence[float] | np.ndarray | None = None,
    lr_factor: float = 1.0,
) -> StabilityVerdict:
    """The stability statement for a run of optimizer ``name`` at a point whose Hessian has
    ``eigenvalues`` (ascending), by the rule its optimizer declares (``Optimizer.stability``):

    - "sgd": gradient descent is stable iff lr lambda_max < 2; heavy-ball momentum beta iff
      lr lambda_max < 2 + 2 beta (Polyak 1964; Goh 2017); Nesterov's (torch's form) iff
      lr lambda_max < (2 + 2 beta) / (1 + 2 beta) (Jury conditions on
      z^2 - (1 + beta)(1 - a) z + beta (1 - a), a = lr lambda); the rate is the spectral radius
      of the iteration matrix along the steep axis (``heavy_ball_radius``, ``nesterov_radius``).
    - "adaptive": no critical step from lambda_max: the per-coordinate step (lr / (sqrt(v) + eps)
      for Adam) adapts as the run goes; no verdict.
    - "newton": 0 < lr < 2 where the Hessian is positive definite (the error is multiplied by
      |1 - lr|); what the modified step does where it is not; no verdict with a line search.
    - "quasi_newton": no lambda_max bound (an inverse-Hessian estimate sets the step); with a
      line search every step satisfies Armijo's condition.

    A run whose ``status`` is "converged" is never told it overshoots.

    Args:
        hyperparams: the run's values (missing ones take the optimizer's defaults).
        status: the run's status (``optimizers.STATUSES``).
        effective_lr: the per-coordinate step the optimizer applied at this point (the runner's
            ``effective_lr`` row; the scheduled lr for SGD's rule).
        lr_factor: the schedule's factor at this step (Newton and quasi-Newton read lr * it).
    """
    opt = get_optimizer(name)
    hp = {**opt.defaults, **dict(hyperparams), **dict(opt.fixed)}
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64).ravel())
    lr = float(hp.get("lr", math.nan)) * float(lr_factor)
    family = opt.stability
    if lam.size == 0 or not np.isfinite(lam).all():
        text = "no curvature here (the run has left the surface)"
        return StabilityVerdict(opt.title, "", math.nan, math.nan, math.nan, False, text)
    if family == "sgd":
        step = _largest(effective_lr)
        return _sgd_verdict(hp, lam, status, lr if math.isnan(step) else step)
    if family == "adaptive":
        step = _largest(effective_lr)
        now = f" now up to {step:.3g}" if math.isfinite(step) else ""
        text = (
            f"no critical step from λ_max: {opt.title} divides each coordinate's step by its own "
            f"running gradient scale (per-coordinate step{now}), which adapts as the run goes, "
            "so 2/λ_max does not bound it"
        )
        method = f"adaptive ({opt.title})"
        return StabilityVerdict(method, "none from λ_max", math.nan, step, math.nan, False, text)
    if family == "sign":
        step = _largest(effective_lr)
        now = f" (now up to {step:.3g})" if math.isfinite(step) else ""
        text = (
            f"no critical step from λ_max: {opt.title} moves each coordinate by a length that "
            f"does not depend on the gradient's size{now}, so a steep axis cannot make it "
            "overshoot ever more; near a minimum it zig-zags within about one step length"
        )
        method = f"sign-based ({opt.title})"
        return StabilityVerdict(method, "none from λ_max", math.nan, step, math.nan, False, text)
    if family == "averaged":
        step = _largest(effective_lr)
        verdict = _sgd_verdict(
            {**hp, "momentum": 0.0}, lam, status, lr if math.isnan(step) else step
        )
        text = (
            f"{verdict.text} (schedule-free: the gradient enters the step at y with the multiplier "
            "lr (1 − β (1 − c_t)) compared here; the rest of each move pulls y toward the average)"
        )
        return StabilityVerdict(
            f"schedule-free ({opt.title})",
            verdict.rule,
            verdict.critical,
            verdict.step,
            verdict.rate,
            verdict.overshoots,
            text,
        )
    if family == "newton":
        return _newton_verdict(hp, lam, status, lr)
    if family == "quasi_newton":
        method = f"quasi-Newton ({opt.title})"
        if bool(hp.get("line_search", False)):
            text = (
                "a backtracking line search picks each step so that the loss decreases enough "
                "(Armijo): no overshoot verdict, and no λ_max bound"
            )
            return StabilityVerdict(
                method, "Armijo line search", math.nan, lr, math.nan, False, text
            )
        text = (
            f"no λ_max bound: the step (length lr = {lr:.3g}) follows an inverse-Hessian estimate "
            "built from past gradients, which rescales every axis by its own curvature"
        )
        return StabilityVerdict(method, "none from λ_max", math.nan, lr, math.nan, False, text)
    text = f"no stability theory is declared for {opt.title}: no verdict"
    return StabilityVerdict(opt.title, "", math.nan, math.nan, math.nan, False, text)
