"""Cached engine calls of the diagnostic pages and the curvature panel; results are numpy data.

Sweeps, tunings and basin maps are computed in the heavy pool (``app.shared_work.heavy``) and
kept as one shared object per setting (``st.cache_resource``: read-only); the small curvature
and theory results are ``st.cache_data``. A basin map is cached one optimizer at a time, so a
page can show progress and changing one optimizer recomputes one map. No maths here: every
number comes from ``studies.analysis``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import landscapes
from optimizers import cost
from studies import analysis

from .shared_work import heavy, replica_shared
from .state import OptimizerEntry
from .surfaces import landscape_for

Params = tuple[tuple[str, float], ...]


def _land(key: str, params: Params) -> landscapes.Landscape:
    """The engine's landscape (``params`` as ``AppState.engine_params()``: the custom formula too)."""
    return landscape_for(key, params)


@st.cache_resource(show_spinner=False, max_entries=64)
@replica_shared("diagnostic_compute.sweep")
def sweep(
    key: str,
    params: Params,
    entries: tuple[OptimizerEntry, ...],
    start: tuple[float, float],
    steps: int,
    seed: int,
    lr_low: float,
    lr_high: float,
    count: int,
    objective: str,
) -> analysis.SweepResult:
    """``analysis.lr_sweep`` of the scene's optimizers over ``count`` log-spaced lrs (in the
    heavy pool; shared by every session: read-only)."""
    return heavy(
        analysis.lr_sweep,
        _land(key, params),
        [e.spec() for e in entries],
        start,
        analysis.log_lrs(lr_low, lr_high, count),
        steps,
        seed=seed,
        objective=objective,
    )


@st.cache_resource(show_spinner=False, max_entries=64)
@replica_shared("diagnostic_compute.tune")
def tune(
    key: str,
    params: Params,
    entries: tuple[OptimizerEntry, ...],
    start: tuple[float, float],
    steps: int,
    seed: int,
    lr_low: float,
    lr_high: float,
    count: int,
    objective: str,
) -> analysis.TuneResult:
    """``analysis.auto_tune`` on the same grid as the sweep (in the heavy pool; shared:
    read-only)."""
    return heavy(
        analysis.auto_tune,
        _land(key, params),
        [e.spec() for e in entries],
        start,
        steps,
        lrs=analysis.log_lrs(lr_low, lr_high, count),
        objective=objective,
        seed=seed,
    )


@st.cache_resource(show_spinner=False, max_entries=128)
@replica_shared("diagnostic_compute.basin_map")
def basin_map(
    key: str, params: Params, entry: OptimizerEntry, grid: int, steps: int, seed: int
) -> analysis.BasinResult:
    """One optimizer's basin map on a ``grid`` x ``grid`` start grid (in the heavy pool; shared
    by every session: read-only)."""
    return heavy(
        analysis.basins,
        _land(key, params),
        [entry.spec()],
        grid=(grid, grid),
        steps=steps,
        seed=seed,
    )


@st.cache_data(show_spinner=False, max_entries=256)
def curvature(
    key: str, params: Params, points: tuple[tuple[float, float], ...]
) -> analysis.Curvature:
    """Hessian eigen-decomposition at each point (N, 2)."""
    return analysis.curvature_at(
        _land(key, params), np.array(points, dtype=np.float64).reshape(-1, 2)
    )


@st.cache_data(show_spinner=False, max_entries=64)
def quadratic_theory(key: str, params: Params) -> analysis.QuadraticTheory | None:
    """Stability theory if the surface is a positive-definite quadratic, else None."""
    eig = analysis.quadratic_eigenvalues(_land(key, params))
    return None if eig is None else analysis.quadratic_theory(eig)


@st.cache_data(show_spinner=False, max_entries=64)
def rate_map(
    key: str,
    params: Params,
    lr_low: float,
    lr_high: float,
    n_lr: int = 121,
    n_beta: int = 100,
    nesterov: bool = False,
) -> analysis.RateMap | None:
    """Heavy-ball (or Nesterov) convergence-rate map (beta in [0, 0.99]) of a quadratic surface,
    else None."""
    eig = analysis.quadratic_eigenvalues(_land(key, params))
    if eig is None:
        return None
    return analysis.momentum_rate_map(
        eig,
        analysis.log_lrs(lr_low, lr_high, n_lr),
        np.linspace(0.0, 0.99, n_beta),
        nesterov=nesterov,
    )


# --- cost: what a view asks for against the budget (``app.budget``) -------------------------------


def sweep_seconds(
    key: str, params: Params, entries: tuple[OptimizerEntry, ...], count: int, steps: int
) -> float:
    """Estimated seconds of ``sweep`` (``optimizers.cost.sweep_seconds``)."""
    return cost.sweep_seconds(_land(key, params), [e.spec() for e in entries], count, steps)


SWEEP_MIN_STEPS = 100  # a sweep is cut to fewer learning rates before fewer steps than this


def sweep_setting(
    key: str,
    params: Params,
    entries: tuple[OptimizerEntry, ...],
    count: int,
    steps: int,
    budget: float,
    min_count: int,
) -> tuple[int, int]:
    """(count, steps) to compute within ``budget``: the asked ones when they fit; else the most
    steps (down to ``SWEEP_MIN_STEPS``, or the asked steps when fewer) at the asked learning
    rates; else the most learning rates (down to ``min_count``) at that many steps; else
    ``min_count`` learning rates and the most steps that fit (at least 1)."""

    def seconds(c: int, n: int) -> float:
        return sweep_seconds(key, params, entries, c, n)

    floor = min(int(steps), SWEEP_MIN_STEPS)
    most = cost.largest_within(lambda n: seconds(count, n), budget, floor, steps)
    if most is not None:
        return count, most
    fewer = cost.largest_within(lambda c: seconds(c, floor), budget, min_count, count)
    if fewer is not None:
        return fewer, floor
    least = cost.largest_within(lambda n: seconds(min_count, n), budget, 1, floor)
    return min_count, least or 1


def basins_seconds(
    key: str, params: Params, entries: tuple[OptimizerEntry, ...], grid: int, steps: int
) -> float:
    """Estimated seconds of every ``basin_map`` of ``entries`` (``optimizers.cost``)."""
    return cost.basins_seconds(_land(key, params), [e.spec() for e in entries], grid, steps)


def basins_setting(
    key: str,
    params: Params,
    entries: tuple[OptimizerEntry, ...],
    grid: int,
    steps: int,
    budget: float,
    min_grid: int,
) -> tuple[int, int]:
    """(grid, steps) to compute within ``budget``: the asked ones when they fit; else the
    finest grid (down to ``min_grid``) at the asked steps, the grid dominating the cost; else
    ``min_grid`` and the most steps that fit (at least 1)."""
    finest = cost.largest_within(
        lambda g: basins_seconds(key, params, entries, g, steps), budget, min_grid, grid
    )
    if finest is not None:
        return finest, steps
    most = cost.largest_within(
        lambda n: basins_seconds(key, params, entries, min_grid, n), budget, 1, steps
    )
    return min_grid, most or 1
