"""Cached calls into the engine; everything returned is plain Python and numpy data.

Surfaces are cached with ``st.cache_data``; runs are cached one optimizer at a time in a shared
store, so changing one optimizer's learning rate recomputes that run only. No maths happens here: the engine computes,
this module unpacks its results into the frozen containers below, which the figures draw.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import streamlit as st

import landscapes
import optimizers
from optimizers import cost

from .shared_work import GUESS, LIGHT, SharedWork, heavy, light
from .state import AppState, OptimizerEntry
from .surfaces import landscape_for

GRID = 161  # surface samples per axis: smooth on a projector, light to send


@dataclass(frozen=True)
class Point:
    """A marked point of a surface (a known minimum or a saddle)."""

    x: float
    y: float
    value: float
    kind: str  # "global", "local" or "saddle"


@dataclass(frozen=True, eq=False)
class Surface:
    """A sampled landscape and the metadata the page shows; ``z[j, i] = f(xs[i], ys[j])``.

    Compared and hashed by identity: ``surface`` hands out one shared object per landscape, so
    figure code can remember what it drew from it."""

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
    ``optimizers.STATUSES``; ``detail`` says it in a sentence, ``event`` in a few words, written
    on the chart at ``event_at`` from ``event_step`` on (``Diagnosis.label``, ``event_step``,
    ``event_position``).
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
    slot: int | None = None  # colour slot in the scene (colour and marker); None: by position
    event: str = ""  # what the diagnosis says in a few words ("" while still moving)
    event_step: int = -1  # the step from which it holds (-1: no event)
    event_at: tuple[float, float] | None = None  # where to write it (None: nowhere drawable)
    # (T, 2) the averaged iterate after each update (ASGD's average, schedule-free's x: the
    # optimizer's ``average_key``); None for optimizers that keep none
    average: np.ndarray | None = None


def catalog() -> dict[str, tuple[str, str]]:
    """Every registered landscape: key -> (group, display name), in registry order (a surface
    registered later, by a plugin, is in it from then on)."""
    return _catalog(tuple(landscapes.available()))


@st.cache_data(show_spinner=False)
def _catalog(keys: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    return {key: (land.group, land.name) for key in keys if (land := landscapes.get(key))}


@st.cache_data(show_spinner=False)
def device_name() -> str:
    """Where the engine computes, e.g. 'CPU' or 'CUDA (NVIDIA H100)'."""
    return optimizers.describe(optimizers.default_device())


@st.cache_resource(show_spinner="Sampling the surface…", max_entries=64)
def surface(
    key: str, params: tuple[tuple[str, float], ...] = (), resolution: int = GRID
) -> Surface:
    """Landscape ``key`` with ``params`` (see ``state.landscape_for``; the custom formula too) sampled on a ``resolution`` x ``resolution`` grid."""
    land = landscape_for(key, params)
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


RunKey = tuple  # (landscape key, params, entry, start, steps, seed)
HEAVY_RUNS_S = 1.0  # runs estimated above this are computed in the heavy pool
# runs being computed: sessions asking for the same batch at once wait for one computation
# (nothing is kept here: the runs go into the store)
_IN_FLIGHT = SharedWork(0, name="explorer-runs")
STORE_BYTES = 256 * 2**20  # arrays of the runs kept: about 5000 runs of 500 steps, 500 of 5000


@dataclass
class _Store:
    """Runs shared by all sessions, least recently used dropped first once their arrays hold
    more than ``STORE_BYTES`` (a scene's batch carries its sliders' runs: its size follows the
    steps)."""

    runs: OrderedDict[RunKey, Run] = field(default_factory=OrderedDict)
    nbytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    prefetching: set[RunKey] = field(default_factory=set)  # runs being prefetched
    pending: list[Future] = field(default_factory=list)  # prefetch batches in the light lane

    def put(self, key: RunKey, run: Run) -> None:
        old = self.runs.pop(key, None)
        self.nbytes += _nbytes(run) - (_nbytes(old) if old is not None else 0)
        self.runs[key] = run

    def touch(self, keys: Sequence[RunKey]) -> None:
        """Mark ``keys`` most recently used, then trim the store to ``STORE_BYTES``."""
        for k in keys:
            if k in self.runs:
                self.runs.move_to_end(k)
        while self.nbytes > STORE_BYTES and len(self.runs) > len(keys):
            self.nbytes -= _nbytes(self.runs.popitem(last=False)[1])


def _nbytes(run: Run) -> int:
    return sum(v.nbytes for v in vars(run).values() if isinstance(v, np.ndarray))


@st.cache_resource
def _store() -> _Store:
    return _Store()


def runs(
    key: str,
    params: tuple[tuple[str, float], ...],
    entries: tuple[OptimizerEntry, ...],
    start: tuple[float, float],
    steps: int,
    seed: int,
) -> list[Run]:
    """The runs of ``entries`` from ``start``, each cached on its own.

    The ones not cached are computed together in one batched ``simulate`` call: changing one
    learning rate recomputes one run, changing the landscape computes all of them in one batch.
    The gradient noise depends on (seed, step) only, so a run is the same alone or in a batch.
    """
    store = _store()
    keys = [(key, params, entry, start, steps, seed) for entry in entries]
    with store.lock:
        found = {k: store.runs[k] for k in keys if k in store.runs}
    missing = tuple(dict.fromkeys(e for k, e in zip(keys, entries, strict=True) if k not in found))
    if missing:  # a class on one link asks for the same runs at once: computed once
        found.update(
            _IN_FLIGHT.get(
                (key, params, missing, start, steps, seed),
                lambda: _compute(key, params, missing, start, steps, seed, lane=light),
            )
        )
    with store.lock:
        store.touch(keys)
    return [found[k] for k in keys]


def in_scene(found: Sequence[Run], state: AppState) -> list[Run]:
    """The runs of ``state``'s optimizers as its figures show them: each with the scene's label
    (no two alike) and colour slot (``None`` where it is the run's position).

    A cached run is shared by every scene that has its entry, so a run whose label or slot is
    not its own is shown as a copy; the copy is remembered, so that a rerun hands the figure
    caches (keyed by the runs' identity) the same objects."""
    out = []
    for i, (run, label, slot) in enumerate(
        zip(found, state.labels(), state.run_slots(), strict=True)
    ):
        own = None if slot == i else slot
        if run.label == label and run.slot == own:
            out.append(run)
            continue
        key = (id(run), label, own)
        with _COPIES_LOCK:
            hit = _COPIES.get(key)
            if hit is not None and hit[0] is run:
                _COPIES.move_to_end(key)
                out.append(hit[1])
                continue
            copy = replace(run, label=label, slot=own)
            _COPIES[key] = (run, copy)  # keeps ``run`` alive: its id is not reused meanwhile
            while len(_COPIES) > COPIES:
                _COPIES.popitem(last=False)
        out.append(copy)
    return out


COPIES = 64  # relabelled runs remembered by ``in_scene``
_COPIES: OrderedDict[tuple[int, str, int | None], tuple[Run, Run]] = OrderedDict()
_COPIES_LOCK = threading.Lock()


def _compute(
    key: str,
    params: tuple[tuple[str, float], ...],
    entries: Sequence[OptimizerEntry],
    start: tuple[float, float],
    steps: int,
    seed: int,
    lane: Callable[..., Any] | None = None,
) -> dict[RunKey, Run]:
    """One batched ``simulate`` call for ``entries``; the runs go into the store. A batch
    estimated above ``HEAVY_RUNS_S`` seconds runs in the heavy pool (``shared_work.heavy``), a
    smaller one in ``lane`` (a page's: ``shared_work.light``), or here (a prefetch batch, in the lane)."""
    if _runs_seconds(key, params, tuple(entries), int(steps)) > HEAVY_RUNS_S:
        lane = heavy
    args = (landscape_for(key, params), [e.spec() for e in entries], [start])
    options = {"steps": steps, "seed": seed}
    if lane is None:
        result = optimizers.simulate(*args, **options)
    else:
        result = lane(optimizers.simulate, *args, **options)
    fresh = {
        (key, params, e, start, steps, seed): _unpack(result, i, e) for i, e in enumerate(entries)
    }
    store = _store()
    with store.lock:
        for k, run in fresh.items():
            store.put(k, run)
    return fresh


def prefetch(
    key: str,
    params: tuple[tuple[str, float], ...],
    entries: Sequence[OptimizerEntry],
    start: tuple[float, float],
    steps: int,
    seed: int,
) -> None:
    """Compute the runs of ``entries`` not in the store in the background: what a student may
    ask for next (every value of the learning-rate sliders). They are rows of the same tensors,
    so a batch costs about what one run of each optimizer does; the page that asked is already
    drawn, and the next move finds its run ready. A run another prefetch is computing is left to
    it; a failure only means that a later change computes its own run.

    The batches, each estimated under ``GUESS_CHUNK_S``, go to the light lane after every page's
    own runs (``shared_work.LIGHT``, priority ``GUESS``): when a class opens many links at once,
    their pages come first. One prefetch at a time: one asked while another is queued or running
    is dropped."""
    store = _store()
    with store.lock:
        store.pending = [f for f in store.pending if not f.done()]
        if store.pending:
            return
        todo = {
            k: e
            for e in entries
            if (k := (key, params, e, start, steps, seed)) not in store.runs
            and k not in store.prefetching
        }
        if not todo:
            return
        store.prefetching.update(todo)
        for chunk in _chunks(key, params, list(todo.items()), steps):
            store.pending.append(
                LIGHT.submit(_guess, dict(chunk), start, steps, seed, priority=GUESS)
            )


GUESS_CHUNK_S = 0.25  # estimated seconds of one prefetch batch: a page waits at most this long


def _chunks(key: str, params: tuple[tuple[str, float], ...], items: list, steps: int) -> list:
    """``items`` ((run key, entry) pairs) in consecutive batches each estimated under
    ``GUESS_CHUNK_S`` (at least one item each)."""
    out: list[list] = [[]]
    for item in items:
        trial = (*(e for _, e in out[-1]), item[1])
        if out[-1] and _runs_seconds(key, params, trial, int(steps)) > GUESS_CHUNK_S:
            out.append([])
        out[-1].append(item)
    return out


def _guess(
    todo: dict[RunKey, OptimizerEntry], start: tuple[float, float], steps: int, seed: int
) -> None:
    """One prefetch batch, in the light lane (``prefetch``)."""
    store = _store()
    key, params = next(iter(todo))[:2]
    try:
        _compute(key, params, list(todo.values()), start, steps, seed)
    except Exception:  # a background guess has nobody to raise to
        logging.getLogger(__name__).exception("prefetching runs failed")
    finally:
        with store.lock:
            store.prefetching.difference_update(todo)


def runs_seconds(
    key: str,
    params: tuple[tuple[str, float], ...],
    entries: Sequence[OptimizerEntry],
    steps: int,
) -> float:
    """Estimated seconds of computing the runs of ``entries`` for ``steps`` steps in one batch
    (``optimizers.cost.simulate_seconds``; runs already in the store are counted too).
    Remembered: every rerun asks again for the same scene."""
    return _runs_seconds(key, params, tuple(entries), int(steps))


@functools.lru_cache(maxsize=4096)
def _runs_seconds(
    key: str, params: tuple[tuple[str, float], ...], entries: tuple[OptimizerEntry, ...], steps: int
) -> float:
    if not entries:
        return 0.0
    return cost.simulate_seconds(landscape_for(key, params), [e.spec() for e in entries], 1, steps)


def runs_steps(
    key: str,
    params: tuple[tuple[str, float], ...],
    entries: Sequence[OptimizerEntry],
    steps: int,
    budget: float,
) -> int:
    """The most steps, up to ``steps``, whose runs fit ``budget`` seconds (at least 1)."""
    fits = cost.largest_within(
        lambda n: runs_seconds(key, params, entries, n), budget, 1, int(steps)
    )
    return fits or 1


def prefetch_within(
    key: str,
    params: tuple[tuple[str, float], ...],
    entries: Sequence[OptimizerEntry],
    steps: int,
    budget: float,
) -> list[OptimizerEntry]:
    """The longest prefix of ``entries`` (the likeliest first) whose runs fit ``budget``
    seconds: what ``prefetch`` may compute; empty when not even the first one fits."""
    entries = list(entries)
    if not entries:
        return []
    n = cost.largest_within(
        lambda k: runs_seconds(key, params, entries[:k], steps), budget, 1, len(entries)
    )
    return entries[: n or 0]


def wait_for_prefetch(timeout: float | None = None) -> None:
    """Block until the background prefetches started so far have finished (tests, benchmarks)."""
    store = _store()
    with store.lock:
        pending = list(store.pending)
    wait(pending, timeout)


def run_of(result: optimizers.SimulationResult, i: int, label: str, name: str, lr: float) -> Run:
    """Spec ``i`` of a one-start ``simulate`` result (record "full") as a ``Run``."""
    diagnosis = result.diagnosis
    average = None if result.average is None else result.average[i, 0]
    if average is not None and not np.isfinite(average).any():
        average = None  # NaN rows: this optimizer keeps no average
    return Run(
        label=label,
        name=name,
        positions=result.positions[i, 0],
        losses=result.losses[i, 0],
        grad_norms=result.grad_norms[i, 0],
        gradients=result.gradients[i, 0],
        updates=result.updates[i, 0],
        velocity=result.velocity[i, 0],
        effective_lr=result.effective_lr[i, 0],
        lr=lr,
        status=str(diagnosis.status[i, 0]),
        detail=str(diagnosis.detail[i, 0]),
        minimum=int(diagnosis.minimum[i, 0]),
        distance=float(diagnosis.distance[i, 0]),
        diverged_at=int(diagnosis.diverged_at[i, 0]),
        evaluations={k: int(v[i, 0]) for k, v in result.evaluations.items()},
        event=str(diagnosis.label[i, 0]),
        event_step=int(diagnosis.event_step[i, 0]),
        average=average,
        event_at=tuple(float(v) for v in at)
        if np.isfinite(at := diagnosis.event_position[i, 0]).all()
        else None,
    )


def _unpack(result: optimizers.SimulationResult, i: int, entry: OptimizerEntry) -> Run:
    lr = float(entry.values.get("lr", float("nan")))
    return run_of(result, i, entry.label, entry.name, lr)


def run(
    key: str,
    params: tuple[tuple[str, float], ...],
    entry: OptimizerEntry,
    start: tuple[float, float],
    steps: int,
    seed: int,
) -> Run:
    """One optimizer's run (see ``runs``)."""
    return runs(key, params, (entry,), start, steps, seed)[0]
