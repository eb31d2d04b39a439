"""Cached calls into the engine; everything returned is plain Python and numpy data.

Each function is wrapped in ``st.cache_data`` and keyed by its (hashable) arguments. Runs are
cached one optimizer at a time, so changing one optimizer's learning rate recomputes that run
only; the surface grid is cached apart from the runs. No maths happens here: the engine computes,
this module unpacks its results into the frozen containers below, which the figures draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

import landscapes
import optimizers

from .state import OptimizerEntry

GRID = 161  # surface samples per axis: smooth on a projector, light to send


@dataclass(frozen=True)
class Point:
    """A marked point of a surface (a known minimum or a saddle)."""

    x: float
    y: float
    value: float
    kind: str  # "global", "local" or "saddle"


@dataclass(frozen=True)
class Surface:
    """A sampled landscape and the metadata the page shows; ``z[j, i] = f(xs[i], ys[j])``."""

    key: str
    name: str
    group: str
    notice: str
    formula: str
    domain: tuple[tuple[float, float], tuple[float, float]]
    start: tuple[float, float]
    log_scale: bool
    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Run:
    """One optimizer's run, every step recorded. Arrays: T steps, positions has T + 1 rows.

    ``velocity`` and ``effective_lr`` are the optimizer's state after the update of step k (NaN
    rows where the optimizer has no such quantity). ``status`` is one of
    ``optimizers.STATUSES``; ``detail`` says it in a sentence.
    """

    label: str
    name: str
    positions: np.ndarray  # (T+1, 2)
    losses: np.ndarray  # (T+1,)
    grad_norms: np.ndarray  # (T+1,)
    gradients: np.ndarray  # (T+1, 2)
    updates: np.ndarray  # (T, 2)
    velocity: np.ndarray  # (T, 2)
    effective_lr: np.ndarray  # (T, 2)
    lr: float
    status: str
    detail: str
    minimum: int  # index into the surface's minima, -1 if none
    distance: float  # to the nearest known minimum
    diverged_at: int  # -1 if never
    evaluations: dict[str, int]


@st.cache_data(show_spinner=False)
def catalog() -> dict[str, tuple[str, str]]:
    """Every registered landscape: key -> (group, display name), in registry order."""
    return {
        key: (land.group, land.name)
        for key in landscapes.available()
        if (land := landscapes.get(key))
    }


@st.cache_data(show_spinner=False)
def device_name() -> str:
    """Where the engine computes, e.g. 'CPU' or 'CUDA (NVIDIA H100)'."""
    return optimizers.describe(optimizers.default_device())


@st.cache_data(show_spinner="Sampling the surface…", max_entries=64)
def surface(
    key: str, params: tuple[tuple[str, float], ...] = (), resolution: int = GRID
) -> Surface:
    """Landscape ``key`` with ``params`` sampled on a ``resolution`` x ``resolution`` grid."""
    land = landscapes.get(key, **dict(params))
    xs, ys, z = land.grid(resolution)
    points = tuple(Point(m.x, m.y, m.value, m.kind) for m in land.minima) + tuple(
        Point(s.x, s.y, s.value, "saddle") for s in land.saddles
    )
    return Surface(
        key=land.key,
        name=land.name,
        group=land.group,
        notice=land.notice,
        formula=land.formula,
        domain=land.domain,
        start=tuple(land.start),
        log_scale=land.log_scale,
        xs=xs,
        ys=ys,
        z=z,
        points=points,
    )


@st.cache_data(show_spinner=False, max_entries=512)
def run(
    key: str,
    params: tuple[tuple[str, float], ...],
    entry: OptimizerEntry,
    start: tuple[float, float],
    steps: int,
    seed: int,
) -> Run:
    """One optimizer from one start. The noise depends on (seed, step) only, so optimizers run
    one by one see the same noise sequence, as they would in one batch."""
    land = landscapes.get(key, **dict(params))
    result = optimizers.simulate(land, [entry.spec()], [start], steps=steps, seed=seed)
    diagnosis = result.diagnosis
    return Run(
        label=entry.label,
        name=entry.name,
        positions=result.positions[0, 0],
        losses=result.losses[0, 0],
        grad_norms=result.grad_norms[0, 0],
        gradients=result.gradients[0, 0],
        updates=result.updates[0, 0],
        velocity=result.velocity[0, 0],
        effective_lr=result.effective_lr[0, 0],
        lr=float(entry.values.get("lr", float("nan"))),
        status=str(diagnosis.status[0, 0]),
        detail=str(diagnosis.detail[0, 0]),
        minimum=int(diagnosis.minimum[0, 0]),
        distance=float(diagnosis.distance[0, 0]),
        diverged_at=int(diagnosis.diverged_at[0, 0]),
        evaluations={k: int(v[0, 0]) for k, v in result.evaluations.items()},
    )
