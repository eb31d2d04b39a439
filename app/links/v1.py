"""What a ``v=1`` explorer link means for every value it leaves out: the frozen default tables.

A value a link leaves out takes its *v=1* default (the default scene, each optimizer's
hyperparameters, each landscape's parameters and start, the schedule fields, the custom formula),
not the engine's current default; and a link leaves out only values equal to these. If a default
changes in the engine, old links keep their trajectories and new links write the new value.

The tables are data, ``v1_defaults.json``, generated once from the code that defined them
(``app.links.freeze_v1``) and never edited: they are the meaning of links already shared.
An optimizer, hyperparameter or landscape added after ``v=1`` has no entry, and needs none: every
link that mentions it was made after it existed, so a link names each of its values outright
(every hyperparameter of such an optimizer, every parameter and the start of such a landscape)
and means the same whatever its defaults become.
One limit: the quadratic's start follows its parameters (its rotation); it is frozen at its
default parameters only, and with others a link without ``start=`` uses the current rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.surfaces import CUSTOM, landscape_parameters

_DATA = json.loads((Path(__file__).with_name("v1_defaults.json")).read_text())


def _box(value: list[list[float]]) -> tuple[tuple[float, float], tuple[float, float]]:
    (x0, x1), (y0, y1) = value
    return ((x0, x1), (y0, y1))


STATE: dict[str, Any] = {
    **_DATA["state"],
    "optimizers": tuple(_DATA["state"]["optimizers"]),
    "domain": _box(_DATA["state"]["domain"]),
}
OPTIMIZER_DEFAULTS: dict[str, dict[str, float | bool]] = _DATA["optimizers"]
LANDSCAPE_PARAMS: dict[str, dict[str, float]] = _DATA["landscape_params"]
# landscapes whose default start was a function of their parameters in v=1
START_FOLLOWS_PARAMS = frozenset(_DATA["start_follows_params"])
# default start of each landscape (at its default parameters)
STARTS: dict[str, tuple[float, float]] = {k: (v[0], v[1]) for k, v in _DATA["starts"].items()}
SCHEDULE_DEFAULTS: dict[str, float] = _DATA["schedule"]


def _full_params(key: str, params: tuple[tuple[str, float], ...]) -> dict[str, float]:
    return {**{p.name: p.default for p in landscape_parameters(key)}, **dict(params)}


def params_to_write(
    key: str, params: tuple[tuple[str, float], ...]
) -> tuple[tuple[str, float], ...]:
    """The landscape parameters a link must name: those that differ from the v=1 defaults."""
    if key not in STARTS:  # a landscape added after v=1: every parameter, named
        return tuple(sorted(_full_params(key, params).items()))
    if key not in LANDSCAPE_PARAMS:
        return params
    frozen = LANDSCAPE_PARAMS[key]
    full = _full_params(key, params)
    given = dict(params)
    return tuple(
        sorted(
            (k, v)
            for k, v in full.items()
            if (k in frozen and v != frozen[k]) or (k not in frozen and k in given)
        )
    )


def fill_params(key: str, params: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
    """``params`` plus the v=1 defaults of the parameters a link left out, where the current
    default differs (empty when nothing needs adding)."""
    given = dict(params)
    current = {p.name: p.default for p in landscape_parameters(key)}
    extra = {
        k: v
        for k, v in LANDSCAPE_PARAMS.get(key, {}).items()
        if k not in given and k in current and current[k] != v
    }
    return tuple(sorted({**given, **extra}.items())) if extra else ()


def _at_v1_params(key: str, params: tuple[tuple[str, float], ...]) -> bool:
    """Whether the v=1 start applies: always, except for a landscape whose start followed its
    parameters in v=1 (then only at the v=1 parameters)."""
    if key not in START_FOLLOWS_PARAMS:
        return True
    frozen = LANDSCAPE_PARAMS.get(key, {})
    full = _full_params(key, params)
    return all(full.get(k) == v for k, v in frozen.items())


def start_to_read(
    key: str, params: tuple[tuple[str, float], ...], current: tuple[float, float]
) -> tuple[float, float] | None:
    """The v=1 start of a link without ``start=``, where it differs from ``current`` (the
    landscape's start now)."""
    if key not in STARTS or not _at_v1_params(key, params):
        return None
    frozen = STARTS[key]
    return frozen if tuple(current) != frozen else None


def start_to_write(
    key: str, params: tuple[tuple[str, float], ...], current: tuple[float, float]
) -> tuple[float, float] | None:
    """A default start that a v=1 link must still name (``current``, the start now, is not
    v=1's)."""
    current = (float(current[0]), float(current[1]))
    if key == CUSTOM:
        return None
    if key not in STARTS:  # a landscape added after v=1: its start, named
        return current
    if not _at_v1_params(key, params):
        return None
    return current if current != STARTS[key] else None


def entry_defaults(name: str) -> dict[str, float | bool]:
    """An optimizer's v=1 hyperparameter defaults ({} for one added after v=1)."""
    return OPTIMIZER_DEFAULTS.get(name, {})


def values_to_write(name: str, values: dict[str, float | bool]) -> dict[str, float | bool]:
    """The hyperparameters an ``o=`` entry must name: those that differ from their v=1
    default, and every one without a v=1 default (added after v=1)."""
    frozen = entry_defaults(name)
    return {k: v for k, v in values.items() if k not in frozen or v != frozen[k]}
