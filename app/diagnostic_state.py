"""URL state of the diagnostic pages: the explorer's scene (``AppState``) plus each page's own keys.

Query schema ``v=1``: every key of ``AppState.to_query`` (surface, optimizers, start, steps,
seed), and

    sweep page:   lrlo=1e-4  lrhi=1  nlr=80  obj=final_loss|steps
    basins page:  grid=80    (start points per axis, 10..200)

Decoding never raises: a bad value adds a warning naming it and falls back to its default; the
rest of the link applies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from app import explorer_link

from .literal import quoted
from .query import QueryReader, float_in, int_in, number_text
from .state import AppState, OptimizerEntry

SWEEP_KEYS = ("lrlo", "lrhi", "nlr", "obj")
BASIN_KEYS = ("grid",)
OBJECTIVES = ("final_loss", "steps")
LR_BOUNDS = (1e-7, 100.0)
COUNT_BOUNDS = (10, 200)
GRID_BOUNDS = (10, 200)


def _scene_query(scene: AppState) -> dict[str, str | list[str]]:
    """The scene's keys; the explorer-only view switches and step shown are left out."""
    q = scene.to_query()
    for key in ("k", "log", "view3d", "curves", "arrows"):
        q.pop(key, None)
    return q


@dataclass(frozen=True)
class SweepState:
    """The learning-rate sweep page: a scene and the sweep's lr range, count and objective."""

    scene: AppState = field(default_factory=AppState)
    lr_low: float = 1e-4
    lr_high: float = 1.0
    count: int = 80
    objective: str = "final_loss"

    def to_query(self) -> dict[str, str | list[str]]:
        q = _scene_query(self.scene)
        default = SweepState()
        for key, attr in zip(SWEEP_KEYS, ("lr_low", "lr_high", "count", "objective"), strict=True):
            value = getattr(self, attr)
            if value != getattr(default, attr):
                q[key] = number_text(value) if isinstance(value, float) else str(value)
        return q

    @classmethod
    def from_query(cls, query: Mapping[str, str | Sequence[str]]) -> tuple[SweepState, list[str]]:
        scene, warn = explorer_link.from_query(query)
        get = QueryReader(query, warn)
        state = cls(scene=scene)
        updates = {}
        for key, attr, (low, high) in (
            ("lrlo", "lr_low", LR_BOUNDS),
            ("lrhi", "lr_high", LR_BOUNDS),
        ):
            raw = get.one(key)
            if raw is not None:
                value = float_in(raw, low, high)
                if value is None:
                    warn.append(
                        f"{key}={quoted(raw)} must be a number in [{low:g}, {high:g}]; using the default"
                    )
                else:
                    updates[attr] = value
        raw = get.one("nlr")
        if raw is not None:
            value = int_in(raw, *COUNT_BOUNDS)
            if value is None:
                warn.append(
                    f"nlr={quoted(raw)} must be an integer in [{COUNT_BOUNDS[0]}, {COUNT_BOUNDS[1]}]; "
                    "using the default"
                )
            else:
                updates["count"] = value
        raw = get.one("obj")
        if raw is not None:
            if raw in OBJECTIVES:
                updates["objective"] = raw
            else:
                warn.append(
                    f"obj={quoted(raw)} must be one of {', '.join(OBJECTIVES)}; using the default"
                )
        result = replace(state, **updates)
        if result.lr_low >= result.lr_high:
            warn.append(
                f"lrlo={result.lr_low:g} must be below lrhi={result.lr_high:g}; using the default range"
            )
            result = replace(result, lr_low=cls.lr_low, lr_high=cls.lr_high)
        return result, warn


@dataclass(frozen=True)
class BasinState:
    """The basins page: a scene and the number of start points per axis."""

    scene: AppState = field(default_factory=AppState)
    grid: int = 60

    def to_query(self) -> dict[str, str | list[str]]:
        q = _scene_query(self.scene)
        if self.grid != BasinState.grid:
            q["grid"] = str(self.grid)
        return q

    @classmethod
    def from_query(cls, query: Mapping[str, str | Sequence[str]]) -> tuple[BasinState, list[str]]:
        scene, warn = explorer_link.from_query(query)
        get = QueryReader(query, warn)
        state = cls(scene=scene)
        raw = get.one("grid")
        if raw is not None:
            value = int_in(raw, *GRID_BOUNDS)
            if value is None:
                warn.append(
                    f"grid={quoted(raw)} must be an integer in [{GRID_BOUNDS[0]}, {GRID_BOUNDS[1]}]; "
                    "using the default"
                )
            else:
                state = replace(state, grid=value)
        return state, warn


def with_lr(scene: AppState, index: int, lr: float, momentum: float | None = None) -> AppState:
    """The scene with optimizer ``index``'s learning rate (and momentum, if given) replaced."""
    entries = list(scene.optimizers)
    entry = entries[index]
    hp = {**dict(entry.hyperparams), "lr": float(lr)}
    if momentum is not None:
        hp["momentum"] = float(momentum)
    entries[index] = OptimizerEntry.make(entry.name, entry.schedule, **hp)
    return replace(scene, optimizers=tuple(entries), step=None)


def with_lrs(scene: AppState, lrs: Sequence[float]) -> AppState:
    """The scene with every optimizer's learning rate replaced (NaN: kept)."""
    for i, lr in enumerate(lrs):
        if math.isfinite(lr):
            scene = with_lr(scene, i, lr)
    return scene


def with_start(scene: AppState, x: float, y: float) -> AppState:
    """The scene started at (x, y)."""
    return replace(scene, start=(float(x), float(y)), step=None)


def custom_values(point: Mapping) -> list[float]:
    """A clicked point's ``customdata`` as a list of floats: Streamlit reports a row of a typed
    array as an object keyed "0", "1", ...; a plain list comes back as a list. [] if absent or bad."""
    custom = point.get("customdata")
    if isinstance(custom, Mapping):
        try:
            custom = [custom[k] for k in sorted(custom, key=int)]
        except (TypeError, ValueError):
            return []
    if not isinstance(custom, Sequence) or isinstance(custom, str):
        return []
    try:
        values = [float(v) for v in custom]
    except (TypeError, ValueError):
        return []
    return values if all(math.isfinite(v) for v in values) else []
