"""The values a log-scale slider offers, and the runs a student moving a learning-rate slider
asks for next (what the explorer computes ahead, ``compute.prefetch``)."""

from __future__ import annotations

import contextlib
import functools
import itertools

import numpy as np

import optimizers

from .state import OptimizerEntry

PER_DECADE = 8  # values per decade on the explorer's log-scale sliders


def log_options(
    low: float,
    high: float,
    extra: tuple[float, ...] = (),
    per_decade: int = PER_DECADE,
    digits: int = 3,
) -> list[float]:
    """Values for a log-scale slider: ``per_decade`` per decade between ``low`` and ``high``,
    rounded to ``digits`` significant digits, plus the current ones (``extra``)."""
    exps = np.arange(np.floor(np.log10(low) * per_decade), np.ceil(np.log10(high) * per_decade) + 1)
    grid = {float(f"{10 ** (e / per_decade):.{digits}g}") for e in exps}
    return sorted(grid | {float(v) for v in extra})


@functools.lru_cache(maxsize=256)  # every rerun of a scene asks again
def likely_entries(entries: tuple[OptimizerEntry, ...]) -> tuple[OptimizerEntry, ...]:
    """What a student moving a learning-rate slider asks for next (see ``compute.prefetch``):
    every other value on each optimizer's slider, the nearest first (each optimizer's nearest
    values, then the next ones...), so that a prefix cut to the compute budget keeps the likeliest.
    The runs of one optimizer are rows of the same tensors, and a step's cost is mostly the
    number of small operations, not of rows: 50 runs of Adam cost little more than one does."""
    ranked: list[list[OptimizerEntry]] = []
    for entry in entries:
        h = next((h for h in optimizers.get(entry.name).all_hyperparams() if h.name == "lr"), None)
        lr = entry.values.get("lr")
        if h is None or not h.log or not lr or lr <= 0:
            continue
        lo, hi = h.ui or (h.low, h.high)
        values = sorted(
            (v for v in log_options(min(lo, lr), max(hi, lr), (lr,)) if v != lr),
            key=lambda v: abs(np.log(v / lr)),
        )
        mine = []
        for value in values:
            with contextlib.suppress(ValueError):  # a slider value outside the allowed range
                hp = {**dict(entry.hyperparams), "lr": value}
                mine.append(OptimizerEntry.make(entry.name, schedule=entry.schedule, **hp))
        ranked.append(mine)
    return tuple(e for rank in itertools.zip_longest(*ranked) for e in rank if e is not None)
