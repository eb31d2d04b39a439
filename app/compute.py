"""Cached calls into the engine; everything returned is plain Python and numpy data.

Each function is wrapped in ``st.cache_data``, keyed by its (hashable) arguments, so a rerun that
changes nothing recomputes nothing. No maths happens here: the engine computes, this module only
unpacks its results into the small frozen containers below, which the figure builders draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

import landscapes
import optimizers

DEFAULT_OPTIMIZERS = ("gd", "momentum", "adam", "rmsprop")


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
    domain: tuple[tuple[float, float], tuple[float, float]]
    start: tuple[float, float]
    log_scale: bool
    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Race:
    """Several optimizers run from one start: one row per optimizer, in the order asked for."""

    names: tuple[str, ...]
    labels: tuple[str, ...]
    paths: tuple[np.ndarray, ...]  # each (steps + 1, 2)
    final_losses: np.ndarray  # (n,)
    statuses: tuple[str, ...]
    details: tuple[str, ...]
    device: str


@st.cache_data(show_spinner=False)
def catalog() -> dict[str, tuple[str, str]]:
    """Every registered landscape: key -> (group, display name), in registry order."""
    out = {}
    for key in landscapes.available():
        surface = landscapes.get(key)
        out[key] = (surface.group, surface.name)
    return out


@st.cache_data(show_spinner=False)
def optimizer_titles() -> dict[str, str]:
    """Every registered optimizer: key -> display title, in registry order."""
    return {name: optimizers.get(name).title for name in optimizers.available()}


@st.cache_data(show_spinner=False)
def device_name() -> str:
    """Where the engine computes, e.g. 'CPU' or 'CUDA (NVIDIA H100)'."""
    return optimizers.describe(optimizers.default_device())


@st.cache_data(show_spinner="Sampling the surface…")
def surface(key: str, resolution: int = 201) -> Surface:
    """Landscape ``key`` sampled on a ``resolution`` x ``resolution`` grid over its domain."""
    land = landscapes.get(key)
    xs, ys, z = land.grid(resolution)
    points = tuple(Point(m.x, m.y, m.value, m.kind) for m in land.minima) + tuple(
        Point(s.x, s.y, s.value, "saddle") for s in land.saddles
    )
    return Surface(
        key=land.key,
        name=land.name,
        group=land.group,
        notice=land.notice,
        domain=land.domain,
        start=tuple(land.start),
        log_scale=land.log_scale,
        xs=xs,
        ys=ys,
        z=z.astype(np.float32),
        points=points,
    )


@st.cache_data(show_spinner="Running the optimizers…")
def race(key: str, names: tuple[str, ...], steps: int) -> Race:
    """Run optimizers ``names`` (engine defaults) on landscape ``key`` from its default start."""
    result = optimizers.simulate(landscapes.get(key), list(names), steps=steps, record="path")
    assert result.positions is not None  # record="path" keeps the paths
    return Race(
        names=tuple(names),
        labels=tuple(spec.label for spec in result.specs),
        paths=tuple(result.positions[i, 0] for i in range(len(names))),
        final_losses=result.final_losses[:, 0],
        statuses=tuple(str(s) for s in result.status[:, 0]),
        details=tuple(str(d) for d in result.diagnosis.detail[:, 0]),
        device=result.device,
    )
