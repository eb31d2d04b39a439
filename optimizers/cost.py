"""A cost model of the 2-D engine: seconds a run, a sweep, a basin map or a search will take.

Plain functions of what a view asks for (optimizers, runs, steps, grid points), from a few
per-unit constants calibrated on a 2-core CPU with ``bench/cost_model.py`` (which prints predicted
against measured seconds). What each optimizer's update costs is declared with the optimizer
(``Optimizer.cost``, a ``StepCost``); the landscape adds the gradient and, for Newton, the
Hessian, in closed form or by autograd. A step of ``simulate`` costs

    STEP_S + runs * STEP_RUN_S                                  the runner and the gradient
    + AUTOGRAD_S + runs * AUTOGRAD_RUN_S                        where the gradient is autograd's
    + sum over rule groups (ops * OP_S + runs_g * per_run * RUN_S)   each update rule
    + Hessians, extra gradients and line-search trial points    where a rule asks for them

and a run of T steps costs T such steps, all times ``SAFETY``. The model is conservative: it assumes no run settles
early (Newton's fixed point, L-BFGS's converged runs cost less) and errs high; it is meant to be
within about 2x, never to promise a view in seconds that takes minutes. ``largest_within``
turns any estimate into the largest setting that fits a budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .base import get as get_optimizer
from .runner import SpecLike, expand_specs

# --- calibrated constants (seconds; 2-core CPU, float64; see bench/cost_model.py) ----------------
# Fitted to times measured on a loaded 2-core machine (load average 4-6), then multiplied by
# SAFETY: the estimate errs high, so a view estimated within the budget is computed within it.
# Under heavier load (other processes on both cores) torch's threads contend and large batches
# can run several times slower still; no constant covers that.
SAFETY = 1.5  # every estimate is this many times the fitted one
STEP_S = 80e-6  # the runner's own work per step and a closed-form gradient, whatever the runs
STEP_RUN_S = 200e-9  # ... per run: the gradient, divergence and settle checks
OP_S = 10e-6  # one unit of an update rule's ``StepCost.ops`` (a small tensor operation) per step
RUN_S = 250e-9  # one unit of ``StepCost.per_run`` per run and step
AUTOGRAD_S = 1.5e-3  # a gradient by autograd (no closed form) per step ...
AUTOGRAD_RUN_S = 7e-6  # ... and per run
HESSIAN_S = 2e-3  # a Hessian by torch.func per step (landscapes without a closed form) ...
HESSIAN_RUN_S = 10e-6  # ... and per run (a closed-form Hessian is in Newton's ``per_run``)
TRIAL_RUN_S = 300e-9  # one line-search trial point per run (a function value) ...
AUTOGRAD_TRIAL = 4.0  # ... times this where the surface has no closed-form gradient
FINISH_RUN_S = 25e-6  # per run, once: final Hessian, status classification and unpacking
RECORD_RUN_S = 200e-9  # per run and step, record "full" or "path": the stacked history
SEARCH_ROUND_S = 0.005  # a search round's bookkeeping (Optuna's ask and tell), per searcher
GP_TRIAL_S = 0.05  # the Gaussian-process sampler's model fit, per trial after its start-up


def _closed(landscape: Any, attr: str) -> bool:
    return getattr(landscape, attr, None) is not None


def simulate_seconds(
    landscape: Any,
    specs: Sequence[SpecLike],
    starts: int = 1,
    steps: int = 200,
    *,
    record: str = "full",
) -> float:
    """Estimated seconds of ``optimizers.simulate(landscape, specs, <starts points>, steps,
    record=record)``. ``specs`` as ``simulate`` takes them (a swept 1-D hyperparameter counts its
    values); ``starts`` is the number of start points. ValueError for an unknown optimizer."""
    resolved = expand_specs(specs)
    starts, steps = max(int(starts), 0), max(int(steps), 0)
    runs = len(resolved) * starts
    autograd = not _closed(landscape, "gradient")
    grad_factor = AUTOGRAD_TRIAL if autograd else 1.0
    closed_hessian = _closed(landscape, "second_derivatives")
    per_step = STEP_S + runs * STEP_RUN_S
    if autograd:
        per_step += AUTOGRAD_S + runs * AUTOGRAD_RUN_S
    if record in ("full", "path"):
        per_step += runs * RECORD_RUN_S
    groups: dict[tuple, list] = {}
    for spec in resolved:
        opt = get_optimizer(spec.name)
        groups.setdefault((opt.init, opt.update), []).append(spec)
    for members in groups.values():
        cost = get_optimizer(members[0].name).cost
        n = len(members) * starts
        per_step += cost.ops * OP_S + n * cost.per_run * RUN_S
        if cost.gradients:  # gradients at other points (SAM's): each as the runner's own
            extra = n * STEP_RUN_S + (AUTOGRAD_S + n * AUTOGRAD_RUN_S if autograd else 0.0)
            per_step += cost.gradients * extra
        if cost.hessians and not closed_hessian:
            per_step += cost.hessians * (HESSIAN_S + n * HESSIAN_RUN_S)
        if cost.line_search:
            searching = [s for s in members if s.hyperparams.get("line_search")]
            if searching:
                trials = max(int(s.hyperparams.get("max_ls", 20)) for s in searching)
                per_step += 10 * OP_S + n * trials * TRIAL_RUN_S * grad_factor
    return SAFETY * (steps * per_step + runs * FINISH_RUN_S)


def sweep_seconds(landscape: Any, specs: Sequence[SpecLike], count: int, steps: int) -> float:
    """Estimated seconds of ``analysis.lr_sweep`` of ``specs`` over ``count`` learning rates
    (one batched ``simulate`` call, record "path"; ``auto_tune`` costs the same again)."""
    lrs = np.ones(max(int(count), 1))
    swept = []
    for spec in specs:
        name, hp = (spec, {}) if isinstance(spec, str) else _name_hp(spec)
        swept.append((name, {**hp, "lr": lrs}))
    return simulate_seconds(landscape, swept, 1, steps, record="path")


def basins_seconds(landscape: Any, specs: Sequence[SpecLike], grid: int, steps: int) -> float:
    """Estimated seconds of ``analysis.basins`` on a ``grid`` x ``grid`` start grid: one
    ``simulate`` call (record "final") per spec."""
    starts = int(grid) ** 2
    return sum(simulate_seconds(landscape, [s], starts, steps, record="final") for s in specs)


def search_seconds(
    landscape: Any,
    spec: SpecLike,
    steps: int,
    *,
    resolution: int,
    searchers: Sequence[str],
    budget: int,
    batch: int = 1,
) -> float:
    """Estimated seconds of the search page on a surface: ``tuning.dense_objective`` (one
    ``simulate`` of ``resolution``^2 runs) and ``tuning.run_searches`` (rounds of a few runs each:
    about ``budget`` rounds when a sequential searcher is among ``searchers``, each a
    ``simulate`` of ``steps`` steps, plus the samplers' own work)."""
    dense = simulate_seconds(landscape, [spec], int(resolution) ** 2, steps, record="final")
    rounds = _search_rounds(searchers, budget, batch)
    per_round = simulate_seconds(
        landscape, [spec], padded_runs(len(searchers) * int(batch)), steps, record="final"
    )
    return dense + rounds * per_round + _sampler_seconds(searchers, budget, rounds)


def padded_runs(n: int) -> int:
    """The runs a search evaluates for ``n`` trials: padded with at least two sentinel runs to a
    multiple of 32 (``tuning.PAD_RUNS``)."""
    return -(-(int(n) + 2) // 32) * 32


def _search_rounds(searchers: Sequence[str], budget: int, batch: int) -> int:
    """Rounds of ``run_searches``: the most asks any searcher needs (sequential: one per trial)."""
    budget = max(int(budget), 1)
    if any(s in ("tpe", "gp") for s in searchers):
        return budget if batch <= 1 else min(budget, 10 + -(-max(budget - 10, 0) // int(batch)))
    if any(s in ("cmaes", "nsga2") for s in searchers):
        return budget
    return max(1, -(-budget // 10))


def _sampler_seconds(searchers: Sequence[str], budget: int, rounds: int) -> float:
    """The samplers' own work: each round's ask and tell, and the GP's fit per trial."""
    seconds = rounds * len(searchers) * SEARCH_ROUND_S
    if "gp" in searchers:
        seconds += max(int(budget) - 10, 0) * GP_TRIAL_S
    return seconds  # fitted to a quiet machine: Optuna's samplers slow most under load


def _name_hp(spec: Any) -> tuple[str, dict]:
    if isinstance(spec, tuple):
        return spec[0], dict(spec[1])
    return spec.name, dict(spec.hyperparams)


def largest_within(
    estimate: Callable[[int], float], budget: float, low: int, high: int
) -> int | None:
    """The largest integer ``n`` in [low, high] with ``estimate(n) <= budget``, for an estimate
    that grows with ``n`` (bisection); None when even ``low`` is over the budget."""
    low, high = int(low), int(high)
    if high < low or estimate(low) > budget:
        return None
    if estimate(high) <= budget:
        return high
    while high - low > 1:  # estimate(low) <= budget < estimate(high)
        mid = (low + high) // 2
        if estimate(mid) <= budget:
            low = mid
        else:
            high = mid
    return low


__all__ = [
    "basins_seconds",
    "largest_within",
    "padded_runs",
    "search_seconds",
    "simulate_seconds",
    "sweep_seconds",
]
