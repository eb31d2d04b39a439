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

from .links.fields import Choice, Field, Integer, Number, decode, encode
from .query import QueryReader
from .state import AppState, OptimizerEntry

OBJECTIVES = ("final_loss", "steps")
LR_BOUNDS = (1e-7, 100.0)
COUNT_BOUNDS = (10, 200)
GRID_BOUNDS = (10, 200)
# each page's own link values (``widget``: the page's widget key)
SWEEP_FIELDS: tuple[Field, ...] = (
    Field("lrlo", "lr_low", Number(*LR_BOUNDS), widget="sw_lr_low"),
    Field("lrhi", "lr_high", Number(*LR_BOUNDS), widget="sw_lr_high"),
    Field("nlr", "count", Integer(*COUNT_BOUNDS), widget="sw_count"),
    Field("obj", "objective", Choice(OBJECTIVES), widget="sw_objective"),
)
BASIN_FIELDS: tuple[Field, ...] = (Field("grid", "grid", Integer(*GRID_BOUNDS), widget="bs_grid"),)
SWEEP_KEYS = tuple(f.key for f in SWEEP_FIELDS)
BASIN_KEYS = tuple(f.key for f in BASIN_FIELDS)


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
        return {**_scene_query(self.scene), **encode(self, SWEEP_FIELDS, SweepState())}

    @classmethod
    def from_query(cls, query: Mapping[str, str | Sequence[str]]) -> tuple[SweepState, list[str]]:
        scene, warn = explorer_link.from_query(query)
        state = cls(scene=scene)
        updates = decode(QueryReader(query, warn), SWEEP_FIELDS, state, warn)
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
        return {**_scene_query(self.scene), **encode(self, BASIN_FIELDS, BasinState())}

    @classmethod
    def from_query(cls, query: Mapping[str, str | Sequence[str]]) -> tuple[BasinState, list[str]]:
        scene, warn = explorer_link.from_query(query)
        state = cls(scene=scene)
        updates = decode(QueryReader(query, warn), BASIN_FIELDS, state, warn)
        return replace(state, **updates), warn


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
